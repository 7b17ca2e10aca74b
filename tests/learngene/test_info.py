"""gtl_ray.learngene.info: where a gene came from and how to feed it images, for its header."""

from __future__ import annotations

from gtl_ray.learngene.info import config_digest, gene_info
from tests.conftest import tiny


def test_provenance_names_the_run_the_gene_and_the_settings():
    config = tiny(name="origin")
    info = gene_info(config, "g0001m0002", generation=1, member=2)
    assert info["provenance"] == {
        "run": "origin",
        "id": "g0001m0002",
        "generation": 1,
        "member": 2,
        "config_digest": config_digest(config),
    }
    assert info["preprocessing"]["image_size"] == config.data.image_size and "recipe" not in info
    assert gene_info(config, "initial", recipe={"lr": 0.1}, made_by="random")["recipe"] == {"lr": 0.1}


def test_equal_digests_mean_equal_settings():
    assert config_digest(tiny()) == config_digest(tiny())
    assert config_digest(tiny()) != config_digest(tiny("evolution.generations=4"))
