"""A member actor's generation loop (gtl_ray.service.member) against a real learngene pool on the
session's Ray: a pack of K members lives each member the pool has not heard from, in member order,
and a sequential pack restarted mid-generation relives only those, a vectorized one all its
members. The test plays the rest of the population (and the pack's life before its restart)."""

from __future__ import annotations

from gtl_ray.data import load_splits
from gtl_ray.evolution.member_life import live_member
from gtl_ray.evolution.strategy import Strategy
from gtl_ray.service.handoff import receive_parent
from gtl_ray.service.member import MemberTrainable, pack_result
from tests.conftest import tiny


def _start(ray, tmp_path, pack: str):
    """A pool for 4 members in packs of 2, and the strategy and base images the test lives with."""
    from gtl_ray.service.pool import NAMESPACE, LearngenePool, pool_name

    config = tiny("population.members_per_actor=2", f"population.pack={pack}", storage=tmp_path, name=f"pack-{pack}")
    strategy, base = Strategy(config), load_splits(config.data).base
    state = strategy.init(None)
    pool = LearngenePool.options(name=pool_name(config.name), namespace=NAMESPACE).remote(
        config, config.storage, [ray.put(base.to_arrays())], state, [], [], 0
    )
    return strategy, base, pool, pool_name(config.name)


def _live_and_submit(ray, pool, strategy, base, generation: int, members: list[int]) -> None:
    """Members living outside the pack under test: ask the pool, live, submit."""
    payloads = ray.get([pool.assignment.remote(generation, m) for m in members])
    for payload in payloads:
        parent = receive_parent(payload["parent"]) if payload["parent"] else None
        ray.get(pool.submit.remote(live_member(strategy, base, payload["assignment"], parent)))


def _member_actor(ray, pool_name: str):
    """The pack of members 0 and 1 as Tune runs it: the Trainable as an actor, stepped by `train`."""
    return ray.remote(num_cpus=0)(MemberTrainable).remote(config={"member": 0, "pool": pool_name})


def test_a_pack_restarted_mid_generation_relives_only_the_members_not_yet_submitted(ray_session, tmp_path):
    ray = ray_session
    strategy, base, pool, name = _start(ray, tmp_path, "sequential")
    _live_and_submit(ray, pool, strategy, base, 0, [0, 2, 3])  # member 0 submitted before the restart
    member = _member_actor(ray, name)
    first = ray.get(member.train.remote())
    assert first["generation"] == 0 and first["member"] == 1 and "members" not in first
    assert ray.get([pool.next_generation.remote(m) for m in range(4)]) == [1, 1, 1, 1]
    _live_and_submit(ray, pool, strategy, base, 1, [2, 3])
    second = ray.get(member.train.remote())
    assert second["generation"] == 1 and second["members"] == [0, 1]  # both, in member order
    assert ray.get([pool.next_generation.remote(m) for m in range(4)]) == [2, 2, 2, 2]
    ray.kill(member)
    ray.kill(pool)


def test_a_vectorized_pack_lives_all_its_members_together_after_a_restart_too(ray_session, tmp_path):
    """Its results depend on which members share it: the pack relives member 0 with member 1 and
    submits both (the pool keeps the first submission of a member and ignores a repeat)."""
    ray = ray_session
    strategy, base, pool, name = _start(ray, tmp_path, "vectorized")
    _live_and_submit(ray, pool, strategy, base, 0, [0, 2, 3])  # member 0 submitted before the restart
    member = _member_actor(ray, name)
    first = ray.get(member.train.remote())
    assert first["generation"] == 0 and first["members"] == [0, 1]
    assert ray.get([pool.next_generation.remote(m) for m in range(4)]) == [1, 1, 1, 1]
    ray.kill(member)
    ray.kill(pool)


def test_a_lone_members_result_is_reported_as_it_is():
    alone = {"generation": 4, "member": 7, "fitness": 0.25}
    assert pack_result([alone]) is alone
