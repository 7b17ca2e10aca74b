"""Evolution (pure, Ray-free): the strategy (selection, mutation, write-back, hall of fame),
lifetimes and fitness, lineage, and `evolve_local`, the whole loop in one process."""
from gtl_ray.evolution.lifetime import MemberOutcome, live
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.local import EvolutionResult, evolve_local
from gtl_ray.evolution.mutation import list_mutations, mutate_tensors
from gtl_ray.evolution.selection import Selection, select_parents
from gtl_ray.evolution.strategy import Assignment, EvolutionState, Parent, Strategy

__all__ = ["Assignment", "EvolutionResult", "EvolutionState", "LineageRecord", "MemberOutcome", "Parent", "Selection", "Strategy", "evolve_local", "list_mutations", "live", "mutate_tensors", "select_parents"]
