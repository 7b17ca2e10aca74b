"""Packs (`gtl_ray/packing.py`): what `members_per_actor: auto` and `pack: auto` mean, and the
config errors that name the keys."""

from __future__ import annotations

import pytest

from gtl_ray.config import read_config
from gtl_ray.preflight import load_config
from gtl_ray.errors import ConfigError
from gtl_ray.packing import PACK_BY_DEVICE, members_per_actor, pack_mode, with_packs_resolved


@pytest.mark.parametrize(
    ("size", "cpus", "gpus", "k"),
    [
        (4, 0.5, 0.0, 2),  # the quickstart: two actors of one CPU, not four processes on two cores
        (16, 0.25, 0.0, 4),
        (8, 1.0, 0.0, 1),  # a member holds a whole CPU already
        (6, 0.25, 0.0, 6),  # 4 does not divide 6: the next divisor that makes a whole CPU
        (4, 0.1, 0.0, 4),  # the whole population holds less than one CPU
        (8, 1.0, 0.25, 4),  # four members share a GPU: one actor, one CUDA context per GPU
        (8, 1.0, 0.3, 2),  # 4 x 0.3 would be 1.2 GPUs: Ray places fractions below 1 only
        (8, 1.0, 2.0, 1),
    ],
)
def test_auto_packs_members_until_an_actor_holds_a_whole_cpu_or_gpu(size, cpus, gpus, k):
    config = load_config(
        None,
        [
            f"population.size={size}",
            f"population.cpus_per_member={cpus}",
            f"population.gpus_per_member={gpus}",
            "population.members_per_actor=auto",
            "evolution.tournament_size=1",
            "evolution.elites=0",
            "evolution.top_k=1",
        ],
    )
    assert config.population.members_per_actor == k and size % k == 0  # load_config resolves it


def test_auto_is_resolved_once_and_a_number_is_kept():
    raw = read_config(None, ["population.members_per_actor=auto", "population.cpus_per_member=0.5"])
    assert raw.population.members_per_actor == "auto" and members_per_actor(raw.population) == 2
    resolved = with_packs_resolved(raw)
    assert resolved.population.members_per_actor == 2 and with_packs_resolved(resolved) is resolved


def test_pack_auto_takes_the_device_table_and_an_explicit_mode_wins():
    config = load_config(None, [])
    assert config.population.pack == "auto"
    assert pack_mode(config, "cpu") == PACK_BY_DEVICE["cpu"] and pack_mode(config, "cuda:1") == PACK_BY_DEVICE["cuda"]
    assert pack_mode(load_config(None, ["population.pack=vectorized"]), "cpu") == "vectorized"
    assert pack_mode(load_config(None, ["population.pack=sequential"]), "cuda") == "sequential"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("population.members_per_actor=many", "population.members_per_actor: expected int or auto, got 'many'"),
        ("population.members_per_actor=0", "population.members_per_actor: must be >= 1 or auto, got 0"),
        ("population.pack=fast", "population.pack: 'fast' is not allowed; choose one of auto, sequential, vectorized"),
    ],
)
def test_bad_pack_settings_name_the_key(override, message):
    with pytest.raises(ConfigError) as error:
        load_config(None, [override])
    assert str(error.value) == message
