"""How accuracies and fitness are shown to people: in percent, and fitness beside its chance
level, since a member that learned nothing still scores 1/n_way (`.20` reads as a score when it
is chance for 5-way tasks). Files, JSON and TensorBoard keep fractions (0..1)."""

from __future__ import annotations

from typing import Any, Mapping

from gtl_ray.config import GTLConfig


def percent(fraction: float | None, digits: int = 1) -> str:
    """`0.7234` as `72.3%` (`-` for a missing value)."""
    return "-" if fraction is None else f"{100 * fraction:.{digits}f}%"


def points(fraction: float, digits: int = 1) -> str:
    """A fraction as percentage points without the sign, for table cells under a `(%)` head."""
    return f"{100 * fraction:.{digits}f}"


def fitness_ways(config: GTLConfig | Mapping[str, Any]) -> int:
    """Classes of the tasks fitness is measured on: a member's environments (lifetime fitness) or
    the descendant episodes (descendant and instinct fitness). Takes a config or its dict (a
    manifest's `config`)."""
    raw = config.to_dict() if isinstance(config, GTLConfig) else config
    evolution, lifetime, evaluation = (raw.get(k) or {} for k in ("evolution", "lifetime", "evaluation"))
    kind = evolution.get("fitness", "lifetime")
    return int((lifetime if kind == "lifetime" else evaluation).get("n_way") or 5)


def chance_note(config: GTLConfig | Mapping[str, Any]) -> str:
    """`chance 20% for 5-way`: what fitness a member that learned nothing scores."""
    return chance_of(fitness_ways(config))


def chance_of(ways: int) -> str:
    """`chance 20% for 5-way`."""
    return f"chance {percent(1 / ways, 0)} for {ways}-way"
