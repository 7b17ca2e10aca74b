"""Evolution (pure, Ray-free): the strategy (selection, mutation, write-back, hall of fame),
lifetimes and fitness, lineage, and `evolve_local`, the whole loop in one process.

The strategy and the lineage are numpy only (the learngene pool runs them); lifetimes and
`evolve_local` train networks and are imported on first use.
"""

from typing import Any

from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.mutation import list_mutations, mutate_tensors
from gtl_ray.evolution.selection import Selection, select_parents
from gtl_ray.evolution.strategy import Assignment, EvolutionState, Parent, Strategy

__all__ = [
    "Assignment",
    "EvolutionResult",
    "EvolutionState",
    "LineageRecord",
    "MemberOutcome",
    "Parent",
    "Selection",
    "Strategy",
    "evolve_local",
    "list_mutations",
    "live",
    "mutate_tensors",
    "select_parents",
]


def __getattr__(name: str) -> Any:
    if name in ("MemberOutcome", "live"):
        from gtl_ray.evolution import lifetime

        return getattr(lifetime, name)
    if name in ("EvolutionResult", "evolve_local"):
        from gtl_ray.evolution import local

        return getattr(local, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
