"""Capacity decisions as pure functions of demand and node room (no cluster)."""

from __future__ import annotations

from gtl_ray.preflight.room import (
    NodeRoom,
    actor_resources,
    local_gpu_shortfall,
    local_shortfall,
    member_resources,
    no_node_fits,
    population_demand,
    total_demand,
)
from gtl_ray.service.capacity import stall_message
from tests.conftest import tiny


def config(*extra: str):
    return tiny(*extra)


def test_demand_per_member_and_in_total():
    c = config("population.size=64", "population.cpus_per_member=1", "population.gpus_per_member=0.25")
    assert member_resources(c) == {"CPU": 1.0, "GPU": 0.25}
    assert population_demand(c) == [{"CPU": 1.0, "GPU": 0.25}] * 64
    assert total_demand(c) == {"CPU": 64.0, "GPU": 16.0}
    assert member_resources(config("population.gpus_per_member=0")) == {"CPU": 0.5}  # no GPU key at all


def test_a_pack_of_members_asks_for_their_shares_in_one_bundle():
    c = config(
        "population.size=64",
        "population.cpus_per_member=0.5",
        "population.gpus_per_member=0.25",
        "population.members_per_actor=4",
    )
    assert member_resources(c) == {"CPU": 0.5, "GPU": 0.25}  # what one evaluation task holds
    assert actor_resources(c) == {"CPU": 2.0, "GPU": 1.0}
    assert population_demand(c) == [{"CPU": 2.0, "GPU": 1.0}] * 16 and total_demand(c) == {"CPU": 32.0, "GPU": 16.0}
    half = NodeRoom("10.0.0.3", {"CPU": 8.0, "GPU": 0.5}, {"CPU": 8.0, "GPU": 0.5})
    reason = no_node_fits(c, [half])
    assert "population.members_per_actor=4" in reason and "{'CPU': 2.0, 'GPU': 1.0}" in reason
    assert "member(s) 0-3, 8-11 waited" in stall_message(c, [0, 8], [half], 1)


def test_a_member_fits_when_one_node_has_room_by_total():
    c = config("population.gpus_per_member=1", "population.cpus_per_member=1")
    gpu_node = NodeRoom("10.0.0.2", {"CPU": 8.0, "GPU": 4.0}, {"CPU": 0.0, "GPU": 0.0})  # busy now, but big enough
    cpu_node = NodeRoom("10.0.0.1", {"CPU": 16.0}, {"CPU": 16.0})
    assert no_node_fits(c, [cpu_node, gpu_node]) is None
    reason = no_node_fits(c, [cpu_node])
    assert (
        "population.gpus_per_member=1" in reason
        and "no node can hold one member" in reason
        and "10.0.0.1 CPU 16/16, GPU 0/0" in reason
    )
    assert "no live node" in no_node_fits(c, [])


def test_a_local_ray_about_to_start_must_have_the_gpus_one_member_actor_asks_for():
    assert local_gpu_shortfall(config("population.gpus_per_member=0"), 0) is None
    assert local_gpu_shortfall(config("population.gpus_per_member=1"), 1) is None
    reason = local_gpu_shortfall(config("population.gpus_per_member=0.5"), 0)
    assert "population.gpus_per_member=0.5" in reason and "no node can hold one member" in reason and "GPU 0" in reason
    packed = config(
        "population.size=8", "population.gpus_per_member=0.5", "population.members_per_actor=4"
    )  # 2 GPUs an actor
    assert local_gpu_shortfall(packed, 2) is None
    assert "population.members_per_actor=4" in local_gpu_shortfall(packed, 1)


def test_a_local_ray_must_hold_the_whole_population_at_once():
    c = config("population.size=16", "population.cpus_per_member=1")
    line = local_shortfall(c, {"CPU": 4.0, "GPU": 4.0})
    assert (
        "population.size=16" in line and "CPU 16" in line and "CPU 4" in line and "population.cpus_per_member" in line
    )
    assert local_shortfall(c, {"CPU": 16.0}) is None


def test_stall_message_names_members_room_and_checkpoint():
    c = config("population.resource_timeout_s=5")
    line = stall_message(c, [2, 3], [NodeRoom("h", {"CPU": 1.0}, {"CPU": 0.0})], checkpointed=1)
    assert (
        "member(s) 2, 3" in line
        and "population.resource_timeout_s=5 s" in line
        and "h CPU 0/1" in line
        and "generation 1" in line
    )
