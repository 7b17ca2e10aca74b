"""What ending a generation costs at large populations: `Strategy.tell` (tournaments, elitism,
write-back, hall of fame) and the post (the next generation's parents made available to its
members), with the config's evolution options and genes of its network's shape.

    python benchmarks/tell_cost.py [--config configs/quickstart.yaml] [--set key=value ...] [P ...]

prints the in-process table (P = 16 64 256 1024 by default); `benchmarks/systems.py` reports the
same rows beside the figure through the pool on Ray.

- In process (`in_process`): the generation book that `evolve_local` and the pool keep, fed P
  submissions per generation. tell = `GenerationBook.conclude`; post = `apply` and every member's
  parent lookup (what `evolve_local` does before the next generation). Beside them, `moves`: under
  reptile, computing every parent's moved gene, which `tell` leaves to the first read
  (`evolution.moved`): on Ray the members that inherit do it, in parallel; in process it is
  part of the next lifetimes.
- Through the pool (`through_pool`): the pool actor's own figures per generation, timing.selection
  (its `tell`) and timing.post (its next parents posted: waiting for the puts of the genes they
  are built on, one put of the learning step, `service.handoff`). Beside them, `arrivals`: the
  puts of handed-in genes made as submissions arrived (in a thread, while later submissions are
  still coming). Each generation is submitted once the previous one's checkpoint is written, as
  in a run whose lifetimes outlast it; its P submissions are sent at once.

Members are born as `Strategy.inherit` makes them (parent's gene, mutated) in process, and with
generation 0's gene through the pool; each passes on its born gene plus one of a few seeded learning
steps. Generation 0 (first calls, allocations) is left out of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import ray  # noqa: E402

from gtl_ray.config import GTLConfig  # noqa: E402
from gtl_ray.evolution.generation import GenerationBook, Submission  # noqa: E402
from gtl_ray.evolution.lifetime import newborn  # noqa: E402
from gtl_ray.evolution.lineage import LineageRecord, member_id  # noqa: E402
from gtl_ray.evolution.strategy import Strategy  # noqa: E402
from gtl_ray.learngene import Learngene, extract_learngene  # noqa: E402
from gtl_ray.preflight import load_config  # noqa: E402
from gtl_ray.seeding import numpy_rng  # noqa: E402
from gtl_ray.service.pool import NAMESPACE, LearngenePool, pool_name  # noqa: E402

POPULATIONS = (16, 64, 256, 1024)
LEARNING_STEPS = 8  #: distinct learning steps members add to their born gene


def first_gene(config: GTLConfig) -> Learngene:
    return extract_learngene(newborn(config, 0, 0), config.learngene.share)


def learning_steps(config: GTLConfig, gene: Learngene) -> list[dict[str, np.ndarray]]:
    """A few seeded learning steps of the gene's shape (what lifetimes add to their born gene)."""
    rng = numpy_rng(config.seed, "tell-cost", 0)
    return [
        {k: rng.normal(0.0, 0.01, v.shape).astype(v.dtype) for k, v in gene.tensors.items()}
        for _ in range(LEARNING_STEPS)
    ]


def submission(generation: int, member: int, fitness: float, born: Learngene, passed: Learngene) -> Submission:
    record = LineageRecord(
        generation=generation,
        member=member,
        id=member_id(generation, member),
        parent=None,
        elite=False,
        mutation="none",
        channels_mutated=0,
        environment=[0],
        fitness=fitness,
        lifetime_seconds=0.0,
        inherited_checksum=None,
        gene_checksum=passed.checksum,
        averaged=[],
        lifetime_accuracy=fitness,
        lifetime_sample_grads=0,
        fitness_sample_grads=0,
    )
    return Submission(record, passed, born)


def in_process(config: GTLConfig, generations: int) -> dict[str, list[float]]:
    """Per generation: seconds of tell and of post in the generation book (see the module doc)."""
    strategy, gene = Strategy(config), first_gene(config)
    steps, rng = learning_steps(config, gene), numpy_rng(config.seed, "tell-cost-fitness")
    book, tell, post, moves = GenerationBook(strategy, strategy.init(gene)), [], [], []
    for g in range(generations):
        state, fitness = book.state, rng.random(config.population.size).tolist()
        for m, a in enumerate(state.assignments):
            born = strategy.inherit(a, state.find_parent(a.parent_id)).gene
            step = steps[m % len(steps)]
            passed = born.replace_tensors({k: v + step[k] for k, v in born.tensors.items()})
            book.accept(submission(g, m, fitness[m], born, passed))
        clock = time.perf_counter()
        concluded = book.conclude(0.0)
        tell.append(time.perf_counter() - clock)
        clock = time.perf_counter()
        book.apply(concluded)
        for a in book.state.assignments:
            book.state.find_parent(a.parent_id)
        post.append(time.perf_counter() - clock)
        clock = time.perf_counter()
        for parent in book.state.parents:
            parent.gene.tensors[next(iter(gene.tensors))]  # a moved gene is computed on first read
        moves.append(time.perf_counter() - clock)
    return {"tell_s": tell, "post_s": post, "beside_s": moves}


def through_pool(config: GTLConfig, generations: int) -> dict[str, list[float]]:
    """Per generation: the pool actor's timing.selection (tell) and timing.post, on the running Ray."""
    P, strategy, gene = config.population.size, Strategy(config), first_gene(config)
    passed = [
        gene.replace_tensors({k: v + s[k] for k, v in gene.tensors.items()}) for s in learning_steps(config, gene)
    ]
    pool = LearngenePool.options(name=pool_name(config.name), namespace=NAMESPACE).remote(
        config, config.storage, [], strategy.init(gene), [], [], 0
    )
    rng = numpy_rng(config.seed, "tell-cost-fitness")
    try:
        for g in range(generations):
            fitness = rng.random(P).tolist()
            ray.get([pool.submit.remote(submission(g, m, fitness[m], gene, passed[m % len(passed)])) for m in range(P)])
            ray.get(pool.generation_summary.remote(g))  # its checkpoint written: the next one starts
        summaries = ray.get(pool.finished.remote())["generations"]
    finally:
        ray.kill(pool)
    timing = [s["timing"] for s in summaries]
    return {
        "tell_s": [t["selection"] for t in timing],
        "post_s": [t["post"] for t in timing],
        "beside_s": [t["arrivals"] for t in timing],
    }


def medians(series: dict[str, list[float]]) -> dict[str, Any]:
    """Medians over generations 1.. (all of them if there is one), and the series themselves."""
    tell, post = (series[key][1:] or series[key] for key in ("tell_s", "post_s"))
    both = [t + p for t, p in zip(series["tell_s"], series["post_s"])][1:] or [
        series["tell_s"][0] + series["post_s"][0]
    ]
    return {
        "tell_s": statistics.median(tell),
        "post_s": statistics.median(post),
        "tell_post_s": statistics.median(both),
        "beside_s": statistics.median(series["beside_s"][1:] or series["beside_s"]),
        "all": series,
    }


def table_rows(rows: dict[str, dict[str, Any]]) -> list[list[str]]:
    """P, tell ms, post ms, tell + post ms, and what is done beside them (moves or arrivals), ms (medians)."""
    keys = ("tell_s", "post_s", "tell_post_s", "beside_s")
    return [[P] + [f"{1e3 * r[key]:.1f}" if key in r else "-" for key in keys] for P, r in rows.items()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "quickstart.yaml"))
    p.add_argument("--set", action="append", default=[], help="config override (repeatable)")
    p.add_argument("--generations", type=int, default=4)
    p.add_argument("populations", nargs="*", type=int, default=list(POPULATIONS))
    args = p.parse_args(argv)
    rows = {}
    for P in args.populations:
        config = load_config(args.config, [*args.set, f"population.size={P}"])
        rows[str(P)] = medians(in_process(config, args.generations))
    print("| P | tell ms | post ms | tell + post ms | moves ms (at inheritance) |\n|---|---|---|---|---|")
    print("\n".join("| " + " | ".join(map(str, row)) + " |" for row in table_rows(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
