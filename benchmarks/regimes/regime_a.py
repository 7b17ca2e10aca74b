"""Regime A, one gene for many descendant sizes (benchmarks/protocol.md), as stages read top to
bottom. Every stage submits its units for all data sets at once to a process pool and waits.

1. start: the narrow network (the gene's shape) pre-trained from every seed, `pretrain.epochs`
   epochs: the `narrow` arm and generation 0 of the evolution.
2. narrow's rest, chosen on val (selection stream) among the candidates, over the live sizes.
3. evolve from every seed with that rest (members and fitness descendants alike); its whole
   compute B (its narrow pre-training included) sets every equal-compute budget.
4. the learngene's rest, chosen on val like narrow's (`narrow-eq` takes narrow's choice).
5. with `novel`: the other networks, narrow pre-trained B worth (`narrow-eq`, and `grow-eq` widened
   from it), every size pre-trained on its own for `pretrain.epochs` (`full`) and for B / K
   (`own/K`); then every arm at every size, seed and shot count on the novel classes (report
   stream).
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable

from benchmarks.regimes.prepare import base_images, budget_epochs, evolved, pretrained
from benchmarks.regimes.protocol import (
    ARMS,
    LIVE_SIZES,
    NO_VARIANT,
    REPORT,
    SELECT,
    SELECT_SHOTS,
    SHOTS,
    SIZES,
    Profile,
    Variant,
)
from benchmarks.regimes.rules import choose, selection_means
from benchmarks.regimes.score import as_seed, score
from benchmarks.regimes.units import Evolution, Pretraining, Scoring, Start, Study
from gtl_ray.evaluation.episode_file import EPISODES, EpisodeRow


def pretrain_figures(unit: Pretraining) -> dict[str, Any]:
    pretrained(unit)
    return json.loads(unit.path.read_text())


def evolution_figures(unit: Evolution) -> dict[str, Any]:
    evolved(unit)
    return json.loads(unit.path.read_text())


def gather(pool: ProcessPoolExecutor, fn: Callable, units: Iterable) -> dict:
    """{unit: fn(unit)} for every unit, computed in the pool."""
    futures = {unit: pool.submit(fn, unit) for unit in units}
    return {unit: future.result() for unit, future in futures.items()}


class RegimeA:
    """The stages of one run; `rows` keeps every table's per-episode rows by data set."""

    def __init__(self, studies: dict[str, Study], profile: Profile, pool: ProcessPoolExecutor):
        self.studies, self.profile, self.pool = studies, profile, pool
        self.rows: dict[str, list[EpisodeRow]] = {SELECT: [], REPORT: []}
        self.choices: dict[str, dict[str, str]] = {d: {} for d in studies}
        self.budget: dict[str, dict[str, int]] = {}

    def epochs(self, data: str) -> int:
        return self.studies[data].config(0).pretrain.epochs

    def start(self) -> None:
        units = [
            Pretraining(st, "gene", self.epochs(d), s) for d, st in self.studies.items() for s in self.profile.seeds
        ]
        gather(self.pool, pretrain_figures, units)

    def select(self, arm: str, starts: Callable[[str, int], Start]) -> dict[str, Variant]:
        """Score `arm` with every rest candidate at every live size and seed on val; choose."""
        units = [
            Scoring(st, SELECT, "val", arm, size.name, s, starts(d, s), v, self.profile.select_episodes, SELECT_SHOTS)
            for d, st in self.studies.items()
            for s in self.profile.seeds
            for size in LIVE_SIZES
            for v in self.profile.candidates
        ]
        done = gather(self.pool, score, units)
        chosen = {}
        for d in self.studies:
            rows = [r for unit, rows in done.items() if unit.study.data == d for r in rows]
            self.rows[SELECT] += rows
            names = [v.name for v in self.profile.candidates]
            chosen[d] = self.variant(choose(selection_means(EPISODES.to_table(rows), d, arm), names))
            self.choices[d][arm] = chosen[d].name
        return chosen

    def evolve(self, rest: dict[str, Variant]) -> dict[str, Evolution]:
        units = {(d, s): Evolution(st, s, rest[d]) for d, st in self.studies.items() for s in self.profile.seeds}
        figures = gather(self.pool, evolution_figures, units.values())
        for d, study in self.studies.items():
            total = max(figures[units[(d, s)]]["compute"]["total"] for s in self.profile.seeds)
            n, k = base_images(study), len(SIZES)
            self.budget[d] = {
                "B": total,
                "eq_epochs": budget_epochs(total, n),
                "own_epochs": budget_epochs(total, n, k),
                "base_images": n,
            }
        return {key: unit for key, unit in units.items()}

    def prepare(self) -> None:
        units = []
        for d, st in self.studies.items():
            b = self.budget[d]
            for s in self.profile.seeds:
                units.append(Pretraining(st, "gene", b["eq_epochs"], s))
                units += [Pretraining(st, size.name, b["own_epochs"], s) for size in SIZES]
                units += [Pretraining(st, size.name, self.epochs(d), s) for size in LIVE_SIZES]
        gather(self.pool, pretrain_figures, units)

    def arm_start(self, data: str, arm: str, seed: int, evolutions: dict) -> tuple[Start, int]:
        """(how `arm` starts, the sample-gradients it spends to serve every size)."""
        b, p = self.budget[data], self.epochs(data)
        n, k = b["base_images"], len(SIZES)
        return {
            "scratch": (Start("scratch"), 0),
            "full": (Start("network", "size", p), k * p * n),
            "own/K": (Start("network", "size", b["own_epochs"]), k * b["own_epochs"] * n),
            "narrow": (Start("gene", "narrow", p), p * n),
            "narrow-eq": (Start("gene", "narrow", b["eq_epochs"]), b["eq_epochs"] * n),
            "grow-eq": (Start("network", "grown", b["eq_epochs"]), b["eq_epochs"] * n),
            "learngene": (Start("gene", "evolved", evolution=evolutions[(data, seed)]), b["B"]),
        }[arm]

    def novel(self, arms: tuple[str, ...], evolutions: dict) -> None:
        """Every arm at every size and seed on the novel classes; scratch once (it depends on no
        seed), filed under every seed."""
        units = []
        for d, st in self.studies.items():
            for arm in arms:
                for s in self.profile.seeds[:1] if arm == "scratch" else self.profile.seeds:
                    start, spent = self.arm_start(d, arm, s, evolutions)
                    for size in SIZES:
                        chosen = self.choices[d].get(arm)
                        variant = self.variant(chosen) if chosen and not size.gene_shaped else NO_VARIANT
                        units.append(
                            Scoring(
                                st,
                                REPORT,
                                "novel",
                                arm,
                                size.name,
                                s,
                                start,
                                variant,
                                self.profile.novel_episodes,
                                SHOTS,
                                spent,
                            )
                        )
        for unit, rows in gather(self.pool, score, units).items():
            seeds = self.profile.seeds if unit.arm == "scratch" else (unit.seed,)
            self.rows[REPORT] += [r for s in seeds for r in as_seed(rows, s)]

    def variant(self, name: str) -> Variant:
        return next(v for v in self.profile.candidates if v.name == name)


def run(studies: dict[str, Study], profile: Profile, workers: int, novel: bool) -> RegimeA:
    """Stages 1-4 (and 5 with `novel`); the rows and choices are on the returned object."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        regime = RegimeA(studies, profile, pool)
        regime.start()
        narrow = {d: Start("gene", "narrow", regime.epochs(d)) for d in studies}
        rest = regime.select("narrow", lambda d, s: narrow[d])
        evolutions = regime.evolve(rest)
        regime.select("learngene", lambda d, s: Start("gene", "evolved", evolution=evolutions[(d, s)]))
        for d in studies:
            regime.choices[d]["narrow-eq"] = regime.choices[d]["narrow"]
        if novel:
            regime.prepare()
            regime.novel(ARMS, evolutions)
    return regime
