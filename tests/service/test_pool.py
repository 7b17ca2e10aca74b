"""The learngene pool itself on Ray (gtl_ray.service.pool), stopped by a checkpoint its storage
refuses or by a writer that lost its lease."""

from __future__ import annotations

from gtl_ray.data import load_splits
from gtl_ray.evolution.member_life import live_member
from gtl_ray.evolution.strategy import Strategy
from gtl_ray.service.handoff import receive_parent


def _lived(strategy: Strategy, base, assignments, parent_of) -> list:
    return [live_member(strategy, base, a, parent_of(a)) for a in assignments]


def test_a_checkpoint_the_storage_refuses_stops_the_pool(ray_session, tmp_path):
    """The learngene pool on Ray, fed by this test: generation 1's folder is a file, so its
    checkpoint fails. The pool records the fault (`watch` returns, `finished` says why and that
    one generation is saved), then hands out no assignment and takes no submission."""
    import ray

    from gtl_ray.errors import StorageFault
    from gtl_ray.run.store import RunStore
    from gtl_ray.service.pool import LearngenePool
    from tests.conftest import tiny

    config = tiny("population.size=2", storage=tmp_path / "runs", name="pool")
    strategy, base = Strategy(config), load_splits(config.data).base
    state = strategy.init(None)
    pool = LearngenePool.remote(config, config.storage, [ray.put(base.to_arrays())], state, [], [], 0)
    first = _lived(strategy, base, state.assignments, lambda a: state.find_parent(a.parent_id))
    ray.get([pool.submit.remote(s) for s in first])
    ray.get(pool.generation_summary.remote(0))  # saved
    store = RunStore(config.storage, config.name)
    (tmp_path / "runs" / "pool" / "generations" / "0001").write_text("not a folder")
    payloads = ray.get([pool.assignment.remote(1, m) for m in range(2)])
    parents = {p["assignment"].member: receive_parent(p["parent"]) if p["parent"] else None for p in payloads}
    second = _lived(strategy, base, [p["assignment"] for p in payloads], lambda a: parents[a.member])
    ray.get([pool.submit.remote(s) for s in second])
    ray.get(pool.watch.remote(), timeout=120)  # returns once the pool failed
    finished = ray.get(pool.finished.remote())
    fault = finished["failure"]
    assert isinstance(fault, StorageFault) and "generations/0001" in fault.location, fault
    assert finished["generations_completed"] == 1 and len(finished["generations"]) == 1
    waiting = pool.assignment.remote(2, 0)
    later = [type(s)(type(s.record)(**{**s.record.__dict__, "generation": 2}), s.gene) for s in second]
    ray.get([pool.submit.remote(s) for s in later])
    assert ray.get([pool.next_generation.remote(m) for m in range(2)]) == [2, 2]  # not taken
    assert store.read_manifest().done == 1 and not (tmp_path / "runs" / "pool" / "generations" / "0002").exists()
    assert not ray.wait([waiting], timeout=0)[0]  # no assignment handed out after the fault
    ray.kill(pool)


def test_a_pool_whose_writer_lost_the_lease_saves_no_manifest(ray_session, tmp_path):
    """The pool checks the driver's lease before its manifest write: another writer holds it."""
    import ray

    from gtl_ray.errors import LeaseLost
    from gtl_ray.run.lease import LeaseGuard, WriterLease
    from gtl_ray.run.store import RunStore
    from gtl_ray.service.pool import LearngenePool
    from tests.conftest import tiny

    config = tiny("population.size=2", storage=tmp_path / "runs", name="taken")
    strategy, base = Strategy(config), load_splits(config.data).base
    state, store = strategy.init(None), RunStore(config.storage, config.name)
    stale = LeaseGuard(store.run_dir, epoch=1, token="0" * 32)  # what the driver held before a take-over
    with WriterLease(store.run_dir) as holder:
        assert holder.record.epoch == 1
        pool = LearngenePool.remote(config, config.storage, [ray.put(base.to_arrays())], state, [], [], 0, stale)
        lived = _lived(strategy, base, state.assignments, lambda a: state.find_parent(a.parent_id))
        ray.get([pool.submit.remote(s) for s in lived])
        ray.get(pool.watch.remote(), timeout=120)
        finished = ray.get(pool.finished.remote())
        ray.kill(pool)
    assert isinstance(finished["failure"], LeaseLost) and "lost the writer lease (epoch 1)" in str(finished["failure"])
    assert finished["generations_completed"] == 0 and not store.exists()
