"""Which gene becomes the run's final learngene (`final.selection`):

- `last_generation`: what the fittest member of the last generation passes on (its elites next);
- `val`: the hall of fame and the last generation's leaders, each re-scored as descendants on
  `final.val_episodes` episodes of the **val** classes (the same episodes and fresh networks for
  every candidate, from the selection stream: never the episodes a table reports; each
  fine-tuned with the recipe it carries, under `evolution.recipe`), the best first. A fittest gene
  of one noisy last generation is a winner's curse; val classes are never seen by evolution, so
  they can judge it. Without a val split the candidates are scored on base-class episodes, with a
  warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from gtl_ray.compute import compute_for, resident
from gtl_ray.config import GTLConfig
from gtl_ray.data import EpisodeSampler, ImageSet, Splits
from gtl_ray.data.sampler import SELECTION_STREAM
from gtl_ray.evolution.fitness import Score, score_gene
from gtl_ray.evolution.strategy import EvolutionState, Parent, Strategy
from gtl_ray.executor import Executor, InProcess
from gtl_ray.learngene import Learngene
from gtl_ray.recipe import Recipe

log = logging.getLogger(__name__)


@dataclass
class FinalChoice:
    final: Parent
    elites: list[Parent]
    val_scores: dict[str, float] = field(default_factory=dict)  #: candidate id -> mean accuracy (selection: val)
    split: str | None = None  #: the classes candidates were scored on: "val", "base" (no val split) or None
    sample_grads: int = 0  #: spent scoring candidates


def scoring_split(config: GTLConfig, splits: Splits) -> tuple[ImageSet, str]:
    """The val classes, or the base classes (logged) when the data has too few val classes."""
    val = getattr(splits, "val", None)
    if val is not None and val.num_classes >= config.evaluation.n_way:
        return val, "val"
    log.warning(
        "final.selection=val: the data has no val split with >= %d classes; scoring the final candidates on "
        "base-class episodes instead",
        config.evaluation.n_way,
    )
    return splits.base, "base"


def _score(shared: tuple[GTLConfig, ImageSet], candidate: tuple[Learngene, Recipe | None]) -> Score:
    config, images = shared
    gene, recipe = candidate
    ev, compute = config.evaluation, compute_for(config)
    sampler = EpisodeSampler(
        resident(images, config, compute),
        ev.n_way,
        config.evolution.fitness_shots,
        ev.query,
        config.final.val_episodes,
        seed=config.seed,
        stream=SELECTION_STREAM,
    )
    return score_gene(config, gene, list(sampler), "final-selection", compute=compute, recipe=recipe)


def choose_final(
    strategy: Strategy, state: EvolutionState, splits: Splits, executor: Executor | None = None
) -> FinalChoice:
    """The final learngene and elites of a run whose last generation `state` follows."""
    config = strategy.config
    elites = config.evolution.elites
    if config.final.selection == "last_generation":
        leaders = strategy.final_genes(state)
        return FinalChoice(leaders[0], leaders[1 : 1 + elites])
    candidates = strategy.candidates(state)
    images, split = scoring_split(config, splits)
    scores: dict[int, Score] = dict(
        (executor or InProcess()).map(_score, (config, images), [(c.gene, c.recipe) for c in candidates])
    )
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i].value, i))
    ranked = [candidates[i] for i in order]
    log.info(
        "final selection on %s: %s", split, ", ".join(f"{c.id} {scores[i].value:.3f}" for i, c in zip(order, ranked))
    )
    return FinalChoice(
        ranked[0],
        ranked[1 : 1 + elites],
        {c.id: scores[i].value for i, c in enumerate(candidates)},
        split,
        sum(s.sample_grads for s in scores.values()),
    )
