"""Whether the data can give a run what its config asks, checked on the loaded splits before Ray
starts (otherwise every member would fail, and be retried, in generation 0)."""

from __future__ import annotations

from gtl_ray.config import GTLConfig
from gtl_ray.data import EpisodeSampler, ImageSet
from gtl_ray.errors import DataError


def check_environments(config: GTLConfig, base: ImageSet) -> None:
    """The base classes hold every member's environment and its fitness episodes."""
    life, ev, evo = config.lifetime, config.evaluation, config.evolution
    try:
        EpisodeSampler(base, life.n_way, life.train_per_class, life.query_per_class, episodes=0, seed=config.seed)
    except DataError as exc:
        raise DataError(
            f"lifetime.n_way={life.n_way}, lifetime.train_per_class={life.train_per_class}, "
            f"lifetime.query_per_class={life.query_per_class} do not fit the base split: {exc}"
        ) from None
    if evo.fitness != "lifetime":
        try:
            EpisodeSampler(base, ev.n_way, evo.fitness_shots, ev.query, episodes=0, seed=config.seed)
        except DataError as exc:
            raise DataError(
                f"evolution.fitness={evo.fitness}: evaluation.n_way={ev.n_way}, "
                f"evolution.fitness_shots={evo.fitness_shots}, evaluation.query={ev.query} "
                f"do not fit the base split: {exc}"
            ) from None
