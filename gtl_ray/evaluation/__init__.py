"""Descendants on novel classes: learngene vs. scratch, full transfer and the non-evolved gene."""
from gtl_ray.evaluation.methods import list_methods
from gtl_ray.evaluation.runner import evaluate, format_table
from gtl_ray.evaluation.stats import mean_ci95

__all__ = ["evaluate", "format_table", "list_methods", "mean_ci95"]
