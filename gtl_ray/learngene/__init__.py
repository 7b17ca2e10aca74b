"""Learngenes: extract, implant, save and load the evolved core of a network (any CNN)."""
from gtl_ray.learngene.gene import Learngene, extract_learngene, implant, tensors_checksum
from gtl_ray.learngene.info import gene_info
from gtl_ray.learngene.units import find_units

__all__ = ["Learngene", "extract_learngene", "find_units", "gene_info", "implant", "tensors_checksum"]
