"""Evolution primitives (pure, Ray-free): lifetime, tournament selection, mutation, lineage."""
from gtl_ray.evolution.lifetime import MemberOutcome, live
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.local import EvolutionResult, evolve_local
from gtl_ray.evolution.mutation import list_mutations, mutate_tensors
from gtl_ray.evolution.selection import Selection, select_parents

__all__ = ["EvolutionResult", "LineageRecord", "MemberOutcome", "Selection", "evolve_local", "list_mutations", "live", "mutate_tensors", "select_parents"]
