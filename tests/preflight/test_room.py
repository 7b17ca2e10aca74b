"""gtl_ray.preflight.room: what a run asks the cluster for, per member actor and in total."""

from __future__ import annotations

from gtl_ray.preflight.room import actor_resources, population_demand, total_demand
from tests.conftest import tiny


def test_the_demand_does_not_depend_on_the_pack_size():
    alone, packed = tiny(), tiny("population.members_per_actor=2")
    assert actor_resources(alone) == {"CPU": 0.5} and actor_resources(packed) == {"CPU": 1.0}
    assert len(population_demand(alone)) == 4 and len(population_demand(packed)) == 2
    assert total_demand(alone) == total_demand(packed) == {"CPU": 2.0}
