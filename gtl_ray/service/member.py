"""A population member: a Tune Trainable whose actor lives for the whole run.

Each `step` is one generation: ask the learngene pool for the assignment, live it
(`evolution.member_life.live_member`: inherit and mutate, learn, be scored), submit the gene
passed on with its lineage record to the pool, and report the member's own figures to Tune (its
TensorBoard curves, step = generation; the population's figures are the pool's). Tune never
pauses or checkpoints members between generations; a member holds no state the pool does not
have, so a restarted member just asks the pool where to go on.

With `population.members_per_actor` K > 1 one actor (trial) is a *pack* of K members (indices
`member`..`member` + K - 1) sharing one process, one CUDA context and one copy of the base
images on the device: each step lives the pack's members one after another, each exactly as an
actor of its own would (the pool's calls are per member), so selection, lineage and resume are
those of K actors; or, with `population.pack` vectorized, as one batched computation
(`evolution.member_life.live_pack`), as `evolve_local` lives the same pack. A sequential pack
restarted mid-generation relives only the members the pool has not heard from, a vectorized one
all of its members (their results depend on which members share the pack).
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
import ray
import torch
from ray import tune

from gtl_ray.compute import compute_for, resident
from gtl_ray.data import ImageSet
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.local import member_threads
from gtl_ray.evolution.member_life import live_pack
from gtl_ray.evolution.strategy import Strategy
from gtl_ray.packing import pack_mode
from gtl_ray.service.handoff import receive_parent
from gtl_ray.service.pool import NAMESPACE


def gene_norm(tensors: dict[str, np.ndarray]) -> float:
    """L2 norm over the learngene's conv blocks (a drift indicator for dashboards)."""
    return float(
        np.sqrt(sum(float((v.astype(np.float64) ** 2).sum()) for k, v in tensors.items() if k.endswith(".conv.weight")))
    )


class MemberTrainable(tune.Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self._attach(config)

    def _attach(self, config: dict[str, Any]) -> None:
        self.member = int(config["member"])
        self.pool = ray.get_actor(config["pool"], namespace=NAMESPACE)
        self.run_config, data = ray.get(self.pool.setup_payload.remote())
        self.strategy = Strategy(self.run_config)
        torch.set_num_threads(member_threads(self.run_config))
        self.device = "cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu"
        self.base = resident(
            ImageSet.from_arrays(ray.get(data[0])), self.run_config, compute_for(self.run_config, self.device)
        )
        self.members = range(self.member, self.member + self.run_config.population.members_per_actor)
        self._ask_next()

    def _ask_next(self) -> None:
        self.next_generation = dict(
            zip(self.members, ray.get([self.pool.next_generation.remote(m) for m in self.members]))
        )

    def step(self) -> dict[str, Any]:
        generation = min(self.next_generation.values())
        pending = [m for m in self.members if self.next_generation[m] == generation]
        # A vectorized pack's results depend on which members share it, so it always lives them
        # all (the pool ignores a repeated submission); a sequential one lives who is pending.
        together = pack_mode(self.run_config, self.device) == "vectorized"
        results = []
        for group in [list(self.members)] if together else [[m] for m in pending]:
            payloads = ray.get([self.pool.assignment.remote(generation, m) for m in group])
            parents = [receive_parent(p["parent"]) if p["parent"] else None for p in payloads]
            lived = live_pack(self.strategy, self.base, [p["assignment"] for p in payloads], parents, self.device)
            del parents
            for member, submission, payload in zip(group, lived, payloads):
                ray.get(self.pool.submit.remote(submission))
                self.next_generation[member] = generation + 1
                results.append(self._result(submission.record, gene_norm(submission.gene.tensors), payload))
        return pack_result(results)

    def _result(self, record: LineageRecord, norm: float, payload: dict[str, Any]) -> dict[str, Any]:
        result = {
            "generation": record.generation,
            "member": record.member,
            "fitness": record.fitness,
            "lifetime_accuracy": record.lifetime_accuracy,
            "elite": record.elite,
            "channels_mutated": record.channels_mutated,
            "gene_norm": norm,
            "lifetime_s": record.lifetime_seconds,
            "device": self.device,
            "gpu_ids": [str(g) for g in ray.get_gpu_ids()],
            "device_memory_peak_bytes": torch.cuda.max_memory_allocated() if self.device == "cuda" else 0,
            "node_id": ray.get_runtime_context().get_node_id(),
            "pool_references": payload["held_references"],
            "done": record.generation + 1 >= self.run_config.evolution.generations,
        }
        result.update(
            {f"recipe_{key}": value for key, value in (record.recipe or {}).items()}
        )  # TensorBoard curves per member
        return result

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Reuse this actor for another member (Tune's reuse_actors): re-attach to the pool."""
        self._attach(new_config)
        return True

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        # The run's state is the pool's per-generation checkpoint; a member only needs its index.
        return {"member": self.member}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._ask_next()


def pack_result(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One Tune result for a pack's generation: a lone member's as it is; for several, the first
    member's fields with the pack's members, mean fitness, lifetime accuracy and gene norm,
    summed lifetime seconds and mutated channels, and whether any was an elite."""
    if len(results) == 1:
        return results[0]
    merged = dict(results[0])
    merged["members"] = [r["member"] for r in results]
    merged.update({k: statistics.fmean(r[k] for r in results) for k in ("fitness", "lifetime_accuracy", "gene_norm")})
    merged.update({k: sum(r[k] for r in results) for k in ("lifetime_s", "channels_mutated")})
    merged["elite"] = any(r["elite"] for r in results)
    return merged
