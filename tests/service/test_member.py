"""A member actor's generation loop without a cluster: a pack of K members lives each member the
pool has not heard from, in member order, and a sequential pack restarted mid-generation relives
only those, a vectorized one all its members (the pool's answers are faked; the Ray runs are in
tests/service/test_run.py)."""

from __future__ import annotations

from types import SimpleNamespace

import ray

from gtl_ray.service import member as member_module
from gtl_ray.service.member import MemberTrainable, pack_result
from tests.conftest import tiny


class FakePool:
    """The pool's member-side calls, answered at once (`.remote` returns the value)."""

    def __init__(self, next_generation: dict[int, int]):
        self.next = next_generation
        self.asked: list[tuple[int, int]] = []
        self.submitted: list[tuple[int, int]] = []
        self.next_generation = SimpleNamespace(remote=lambda m: self.next[m])
        self.assignment = SimpleNamespace(remote=self._assignment)
        self.submit = SimpleNamespace(remote=lambda s: self.submitted.append((s.record.generation, s.record.member)))

    def _assignment(self, generation: int, member: int) -> dict:
        self.asked.append((generation, member))
        return {"assignment": SimpleNamespace(generation=generation, member=member), "parent": None}


def packed(monkeypatch, pool: FakePool, members: range, pack: str = "sequential") -> MemberTrainable:
    monkeypatch.setattr(ray, "get", lambda value: value)

    lived_together: list[list[int]] = []

    def lived(strategy, base, assignments, parents, device):
        lived_together.append([a.member for a in assignments])
        return [
            SimpleNamespace(
                gene=SimpleNamespace(tensors={}),
                record=SimpleNamespace(generation=a.generation, member=a.member),
            )
            for a in assignments
        ]

    monkeypatch.setattr(member_module, "live_pack", lived)
    monkeypatch.setattr(
        MemberTrainable,
        "_result",
        lambda self, record, norm, payload: {
            "generation": record.generation,
            "member": record.member,
            "fitness": float(record.member),
            "lifetime_accuracy": 0.5,
            "gene_norm": norm,
            "lifetime_s": 1.0,
            "channels_mutated": 2,
            "elite": record.member == 3,
        },
    )
    trainable = MemberTrainable.__new__(MemberTrainable)  # no Tune actor: only the loop is under test
    trainable.run_config, trainable.lived_together = tiny(f"population.pack={pack}"), lived_together
    trainable.pool, trainable.members, trainable.strategy, trainable.base, trainable.device = (
        pool,
        members,
        None,
        None,
        "cpu",
    )
    trainable._ask_next()
    return trainable


def test_a_pack_lives_its_members_in_order_each_generation(monkeypatch):
    pool = FakePool({2: 0, 3: 0})
    trainable = packed(monkeypatch, pool, range(2, 4))
    first, second = trainable.step(), trainable.step()
    assert pool.asked == pool.submitted == [(0, 2), (0, 3), (1, 2), (1, 3)]
    assert first == {
        "generation": 0,
        "member": 2,
        "members": [2, 3],
        "fitness": 2.5,
        "lifetime_accuracy": 0.5,
        "gene_norm": 0.0,
        "lifetime_s": 2.0,
        "channels_mutated": 4,
        "elite": True,
    }
    assert second["generation"] == 1


def test_a_pack_restarted_mid_generation_relives_only_the_members_not_yet_submitted(monkeypatch):
    pool = FakePool({0: 1, 1: 0})  # member 0 submitted generation 0 before the restart
    trainable = packed(monkeypatch, pool, range(0, 2))
    result = trainable.step()
    assert pool.submitted == [(0, 1)] and result["member"] == 1 and "members" not in result
    trainable.step()
    assert pool.submitted == [(0, 1), (1, 0), (1, 1)]
    assert trainable.lived_together == [[1], [0], [1]]


def test_a_vectorized_pack_lives_all_its_members_together_after_a_restart_too(monkeypatch):
    """Its results depend on which members share it: the pack relives member 0 with member 1 and
    submits both (the pool keeps the first submission of a member and ignores a repeat)."""
    pool = FakePool({0: 1, 1: 0})  # member 0 submitted generation 0 before the restart
    trainable = packed(monkeypatch, pool, range(0, 2), pack="vectorized")
    result = trainable.step()
    assert pool.asked == pool.submitted == [(0, 0), (0, 1)] and result["members"] == [0, 1]
    trainable.step()
    assert trainable.lived_together == [[0, 1], [0, 1]] and trainable.next_generation == {0: 2, 1: 2}


def test_a_lone_members_result_is_reported_as_it_is():
    alone = {"generation": 4, "member": 7, "fitness": 0.25}
    assert pack_result([alone]) is alone
