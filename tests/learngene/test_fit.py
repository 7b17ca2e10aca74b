"""`gtl_ray.learngene.fit` and the layer map the CLI and configs give: a gene placed by
`--layer-map` / `evaluation.descendant.layer_map` wherever a descendant is born, and a gene too
wide for its descendant refused with the width that fits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gtl_ray import create_model, extract_learngene
from gtl_ray.cli import main
from gtl_ray.errors import LearngeneError
from gtl_ray.fewshot import carry, fresh_descendant
from gtl_ray.learngene import implant
from gtl_ray.learngene.fit import smallest_width
from gtl_ray.preflight.genes import check_gene_fits
from gtl_ray.torch_streams import torch_init_seed
from tests.conftest import tiny
from tests.helpers import write_config

#: two VGG gene layers into a ResNet12: the one that reads the image, and the next 3x3 conv
TO_RESNET = {"features.stages.0.0.conv1": "features.stages.0.0", "features.stages.0.0.conv2": "features.stages.1.0"}
FLAG = ",".join(f"{k}={v}" for k, v in TO_RESNET.items())
NO_BASELINE_GENES = "evaluation.methods=[scratch,learngene]"  #: the heuristic's gene would need the map too


@pytest.fixture(scope="module")
def vgg_gene():
    with torch_init_seed(0, "fit"):
        return extract_learngene(create_model("vgg11", width=0.125))


@pytest.mark.parametrize("gene_width,descendant_width", [(0.5, 0.125), (1.0, 0.25), (0.25, 0.0625)])
def test_smallest_width_is_the_narrowest_that_fits(gene_width, descendant_width):
    gene = extract_learngene(create_model("vgg11", width=gene_width))
    with pytest.raises(LearngeneError):
        implant(gene, create_model("vgg11", width=descendant_width))
    width = smallest_width(gene, "vgg11", None)
    assert width is not None and descendant_width < width <= gene_width
    implant(gene, create_model("vgg11", width=width))  # fits
    with pytest.raises(LearngeneError, match="does not fit"):
        implant(gene, create_model("vgg11", width=round(width - 0.01, 2)))


def test_no_width_helps_another_family_without_a_map(vgg_gene):
    assert smallest_width(vgg_gene, "resnet12", None) is None
    assert smallest_width(vgg_gene, "resnet12", None, TO_RESNET) is not None


def test_the_configs_layer_map_places_the_gene_in_every_newborn_descendant(vgg_gene):
    config = tiny("evaluation.descendant.arch=resnet12", f"evaluation.descendant.layer_map={TO_RESNET}")
    assert config.evaluation.descendant.layer_map == TO_RESNET
    check_gene_fits(config, vgg_gene, "the gene")
    model = carry(fresh_descendant(config, 0), vgg_gene, config.evaluation)  # evaluation, fitness, final choice
    for target, source in TO_RESNET.items():
        block = vgg_gene.tensors[f"{source}.conv.weight"]
        got = dict(model.named_modules())[target].conv.weight[: block.shape[0], : block.shape[1]].detach().numpy()
        assert np.array_equal(got, block)
    with pytest.raises(LearngeneError, match="--layer-map unit=gene_unit"):
        check_gene_fits(tiny("evaluation.descendant.arch=resnet12", NO_BASELINE_GENES), vgg_gene, "the gene")


def test_cli_layer_map_flag(capsys, vgg_gene, tmp_path):
    path = tmp_path / "g.safetensors"
    vgg_gene.save(str(path))
    config = write_config(
        tmp_path / "config.yaml", tmp_path / "runs", "fit", "evaluation.descendant.arch=resnet12", NO_BASELINE_GENES
    )
    code = main(["evaluate", str(config), "--learngene", str(path), "--methods", "learngene", "--layer-map", "nope"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "gtl-ray: error: --layer-map expects unit=gene_unit,... (comma-separated), got 'nope'"
    code = main(["descend", str(config), "--learngene", str(path)])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "cannot go into a 'resnet12' network" in line and "--layer-map unit=gene_unit" in line
    assert "evaluation.descendant.layer_map" in line and "features.stages.0.0.conv1" in line  # the names to map
    code = main(["descend", str(config), "--learngene", str(path), "--layer-map", "features.stages.0.0.conv1=x"])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "the learngene has no layer 'x'" in line and not (tmp_path / "runs").exists()


def test_cli_evaluate_with_a_layer_map_runs(ray_session, capsys, vgg_gene, tmp_path):
    """A VGG gene in a ResNet12 descendant, placed by --layer-map, evaluated on Ray's workers."""
    path = tmp_path / "g.safetensors"
    vgg_gene.save(str(path))
    config = write_config(
        tmp_path / "config.yaml",
        tmp_path / "runs",
        "fit",
        "evaluation.descendant.arch=resnet12",
        "evaluation.episodes=1",
        NO_BASELINE_GENES,
    )
    argv = ["evaluate", str(config), "--learngene", str(path), "--methods", "learngene", "--layer-map", FLAG, "--json"]
    assert main(argv) == 0
    (row,) = json.loads(capsys.readouterr().out)["results"]
    assert row["method"] == "learngene" and 0 <= row["mean"] <= 1


def test_too_wide_a_gene_names_the_width_that_fits(capsys, tmp_path):
    wide = tmp_path / "wide.safetensors"
    gene = extract_learngene(create_model("vgg11", width=0.5))
    gene.save(str(wide))
    config = write_config(tmp_path / "config.yaml", tmp_path / "runs", "wide")
    width = smallest_width(gene, "vgg11", None)
    assert main(["descend", str(config), "--learngene", str(wide)]) == 2
    assert capsys.readouterr().err.rstrip().endswith(f"a vgg11 of width {width:g} or wider takes it: --width {width:g}")
    assert main(["evaluate", str(config), "--learngene", str(wide), "--methods", "learngene"]) == 2
    assert f"--set evaluation.descendant.width={width:g}" in capsys.readouterr().err
