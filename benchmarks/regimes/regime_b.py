"""Regime B, the fine-tuning recipe evolves with the gene (benchmarks/protocol.md), as stages read
top to bottom; every arm at the ancestry's size (x1). Regime A's units and stages serve it.

1. starts: regime A's stages 1-2 (the narrow network pre-trained from every seed, narrow's rest
   chosen on val over the live sizes: the same units, so the same choice), and the x1 network
   pre-trained `pretrain.epochs` epochs from every seed (`full`).
2. evolve from every seed: regime A's evolution aimed at x1 only, the recipe space evolving with
   the gene; its compute beyond its narrow pre-training is each tuning's budget (seed by seed).
3. tune narrow's and full's recipes: seeded random search (`recipe_search.plan_search`: the trials
   a budget pays for), every trial scored on the same val episodes of the selection stream; the
   trial with the highest mean wins (ties: the earlier trial).
4. with `novel`: every arm at every seed and shot count on the novel classes (report stream).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

from benchmarks.regimes.costs_b import evolution_b
from benchmarks.regimes.prepare import base_images
from benchmarks.regimes.protocol import (
    B_ARMS,
    B_SIZE,
    EVOLUTION,
    NO_VARIANT,
    REGIME_B,
    SELECT_SHOTS,
    SHOTS,
    TUNED,
    ProfileB,
    Variant,
)
from benchmarks.regimes.regime_a import RegimeA, evolution_figures, gather, pretrain_figures
from benchmarks.regimes.rules import choose, selection_means
from benchmarks.regimes.score import score
from benchmarks.regimes.units import Evolution, Pretraining, Scoring, Start, Study
from gtl_ray.evaluation.episode_file import EPISODES, EpisodeRow, select
from gtl_ray.evaluation.recipe_search import SearchPlan, evaluate_overrides, evolution_budget, plan_search
from gtl_ray.learngene import Learngene
from gtl_ray.recipe import Recipe

GENE_RECIPE = ("evaluation.recipe=gene",)  #: the learngene fine-tunes with the recipe it evolved


class RegimeB:
    """The stages of one run; `rows` keeps every table's per-episode rows, `choices` the rest and
    the tuned recipes, `compute` every seed's evolution and tuning sample-gradients."""

    def __init__(self, studies: dict[str, Study], profile: ProfileB, pool: ProcessPoolExecutor):
        self.studies, self.profile, self.pool = studies, profile, pool
        self.a = RegimeA(studies, profile.base, pool)
        self.rows: dict[str, list[EpisodeRow]] = {REGIME_B.select: [], REGIME_B.report: []}
        self.choices: dict[str, dict] = {d: {} for d in studies}
        self.compute: dict[str, dict[int, dict]] = {d: {} for d in studies}
        self.rest: dict[str, Variant] = {}
        self.evolutions: dict[tuple[str, int], Evolution] = {}
        self.tuned: dict[tuple[str, str, int], Recipe] = {}

    def starts(self) -> None:
        self.a.start()
        self.rest = self.a.select("narrow", lambda d, s: Start("gene", "narrow", self.a.epochs(d)))
        for d in self.studies:
            self.choices[d]["rest"] = self.rest[d].name
        units = [Pretraining(st, B_SIZE, self.a.epochs(d), s) for d, st in self.studies.items() for s in self.seeds]
        gather(self.pool, pretrain_figures, units)

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.profile.base.seeds

    def evolve(self) -> None:
        self.evolutions = {
            (d, s): evolution_b(st, s, self.rest[d], self.profile) for d, st in self.studies.items() for s in self.seeds
        }
        figures = gather(self.pool, evolution_figures, self.evolutions.values())
        for (d, s), unit in self.evolutions.items():
            self.compute[d][s] = {"evolution": figures[unit]["compute"]}
            recipe = Learngene.load(str(unit.gene_path)).info.get("recipe")  # what learngene+recipe fine-tunes with
            self.choices[d].setdefault("learngene+recipe", {})[s] = {"recipe": recipe}

    def pretrain_grads(self, data: str) -> int:
        """P·n: one pre-training of `pretrain.epochs` epochs on the base classes."""
        return self.a.epochs(data) * base_images(self.studies[data])

    def start_of(self, data: str, arm: str, seed: int) -> tuple[Start, Variant]:
        """How `arm` starts at x1, and its rest (narrow's choice for every gene-implanting arm)."""
        if arm.startswith("learngene"):
            return Start("gene", "evolved", evolution=self.evolutions[(data, seed)]), self.rest[data]
        if TUNED.get(arm, arm) == "narrow":
            return Start("gene", "narrow", self.a.epochs(data)), self.rest[data]
        return Start("network", "size", self.a.epochs(data)), NO_VARIANT

    def plan(self, data: str, arm: str, seed: int) -> SearchPlan:
        """The trials seed `seed`'s budget pays for (its evolution's compute beyond pre-training)."""
        config = self.studies[data].config(seed, *EVOLUTION, *self.profile.evolution_overrides())
        budget = evolution_budget(self.compute[data][seed]["evolution"])
        return plan_search(config, TUNED[arm], budget, self.profile.tune_episodes)

    def tune(self) -> None:
        plans = {(d, arm, s): self.plan(d, arm, s) for d in self.studies for arm in TUNED for s in self.seeds}
        units = {
            (key, i): Scoring(
                self.studies[key[0]],
                REGIME_B.select,
                "val",
                key[1],
                B_SIZE,
                key[2],
                *self.start_of(*key),
                plan.episodes,
                SELECT_SHOTS,
                self.pretrain_grads(key[0]),
                tuple(evaluate_overrides(recipe)),
                i,
            )
            for key, plan in plans.items()
            for i, recipe in enumerate(plan.recipes)
        }
        done = gather(self.pool, score, units.values())
        for unit in units.values():
            self.rows[REGIME_B.select] += done[unit]
        table = EPISODES.to_table(self.rows[REGIME_B.select])
        for (d, arm, s), plan in plans.items():
            spent = sum(r.sample_grads for i in range(len(plan.recipes)) for r in done[units[((d, arm, s), i)]])
            if spent != sum(plan.costs):
                raise RuntimeError(f"{d} {arm} seed {s}: the trials spent {spent}, planned {sum(plan.costs)}")
            means = selection_means(select(table, seed=s), d, arm)
            best = choose(means, [f"trial-{i:02d}" for i in range(len(plan.recipes))])
            recipe = plan.recipes[int(best.split("-")[1])]
            self.tuned[(d, arm, s)] = recipe
            self.choices[d].setdefault(arm, {})[s] = {"trial": best, "recipe": recipe.to_json()}
            self.compute[d][s][arm] = {"budget": plan.budget, "spent": spent, "trials": len(plan.recipes)}

    def arm_recipe(self, data: str, arm: str, seed: int) -> tuple[tuple[str, ...], int]:
        """(the overrides of `arm`'s fine-tuning recipe, the sample-gradients it spent before any
        episode: the evolution's whole compute, or P·n plus the tuning's trials)."""
        if arm.startswith("learngene"):
            return GENE_RECIPE if arm == "learngene+recipe" else (), self.compute[data][seed]["evolution"]["total"]
        if arm in TUNED:
            spent = self.compute[data][seed][arm]["spent"]
            return tuple(evaluate_overrides(self.tuned[(data, arm, seed)])), self.pretrain_grads(data) + spent
        return (), self.pretrain_grads(data)

    def novel(self) -> None:
        units = []
        for d, st in self.studies.items():
            for s in self.seeds:
                for arm in B_ARMS:
                    start, variant = self.start_of(d, arm, s)
                    recipe, spent = self.arm_recipe(d, arm, s)
                    episodes = self.profile.novel_episodes
                    units.append(
                        Scoring(
                            st, REGIME_B.report, "novel", arm, B_SIZE, s, start, variant, episodes, SHOTS, spent, recipe
                        )
                    )
        for rows in gather(self.pool, score, units).values():
            self.rows[REGIME_B.report] += rows


def run(studies: dict[str, Study], profile: ProfileB, workers: int, novel: bool) -> RegimeB:
    """Stages 1-3 (and 4 with `novel`); the rows, choices and compute are on the returned object."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        regime = RegimeB(studies, profile, pool)
        regime.starts()
        regime.evolve()
        regime.tune()
        if novel:
            regime.novel()
    return regime
