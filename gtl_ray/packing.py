"""Member actors as packs: how many members one actor holds (`population.members_per_actor`) and
how a pack's members live (`population.pack`), with what `auto` means for each.

`members_per_actor: auto` depends on the config alone, never on the cluster it meets, so that a
run packs its members alike on any layout, in `evolve_local`, and on resume (a vectorized pack's
lineage depends on which members share it). It packs members until one actor holds what its
process can use whole:
- with a GPU share: one GPU, the members that share it in one process and one CUDA context (the
  largest K with K x gpus_per_member <= 1);
- on CPU: one CPU, since a process computes with whole torch threads (the smallest K with
  K x cpus_per_member >= 1). A node offering N CPUs then holds at most N member actors, one per
  CPU, instead of N / cpus_per_member processes that share its cores and each import torch and Tune.
K always divides population.size (the closest divisor that keeps the actor whole, else 1).
Whether a node can hold such an actor is checked where the nodes are known: before a local Ray
starts and when joining a cluster (`service.capacity`, errors naming population.members_per_actor).

`pack: auto` takes the device's faster way from `PACK_BY_DEVICE`, measured by
`benchmarks/gpu.py` (images per second of packs of K members, sequential vs vectorized).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from gtl_ray.config import GTLConfig, PopulationConfig

PackMode = Literal["sequential", "vectorized"]

#: The faster way for a pack's members to live, per device type (benchmarks/gpu.py, packs table).
#: cpu: sequential. On an idle 2-core machine (benchmarks/results/packs_cpu*.md, fp32, one thread)
#: a vectorized pack of 4 lived the quickstart's lifetimes at 1.44x and 1.24x the images per second
#: of 4 sequential lifetimes, but at 1.10x and 0.94x of sequential lifetimes in the channels-last
#: layout it computes in (packs of 2: 0.99x and 1.04x; of 8: 0.77x): its gain is the layout, not
#: the batching, short of issue 24's 1.5x. (On a machine loaded 2 to 35 it had measured 1.30x to
#: 1.88x.) Sequential packs also keep each member's lineage bit for bit and relive only the
#: members a restart lost. cuda: not measured yet (no GPU lent): sequential until
#: `gpu.py --device-check` decides.
PACK_BY_DEVICE: dict[str, PackMode] = {"cpu": "sequential", "cuda": "sequential"}


def pack_mode(config: GTLConfig, device: str) -> PackMode:
    """How the packs of a run live on `device` (`cpu`, `cuda`, `cuda:1`)."""
    mode = config.population.pack
    return PACK_BY_DEVICE.get(device.split(":")[0], "sequential") if mode == "auto" else mode


def members_per_actor(population: PopulationConfig) -> int:
    """K, with `auto` resolved as the module says."""
    if population.members_per_actor != "auto":
        return int(population.members_per_actor)
    size, gpus, cpus = population.size, population.gpus_per_member, population.cpus_per_member
    divisors = [k for k in range(1, size + 1) if size % k == 0]
    if gpus > 0:
        return max(k for k in divisors if k * gpus <= 1 + 1e-9) if gpus < 1 else 1
    whole = [k for k in divisors if k * cpus >= 1 - 1e-9]
    return min(whole) if whole else size


def with_packs_resolved(config: GTLConfig) -> GTLConfig:
    """`config` with `members_per_actor: auto` replaced by the K it means (unchanged otherwise)."""
    k = members_per_actor(config.population)
    if config.population.members_per_actor == k:
        return config
    return dataclasses.replace(config, population=dataclasses.replace(config.population, members_per_actor=k))
