"""Learngenes: extract, implant, save and load the evolved core of a network."""
from gtl_ray.learngene.gene import Learngene, extract_learngene, implant, tensors_checksum

__all__ = ["Learngene", "extract_learngene", "implant", "tensors_checksum"]
