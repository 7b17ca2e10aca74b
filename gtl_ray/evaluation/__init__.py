"""Descendants on novel classes: learngene vs. scratch, full transfer and the non-evolved gene."""

from gtl_ray.evaluation.methods import list_methods
from gtl_ray.evaluation.results import Evaluation, format_table
from gtl_ray.evaluation.runner import evaluate
from gtl_ray.evaluation.stats import mean_ci95, paired_difference

__all__ = ["Evaluation", "evaluate", "format_table", "list_methods", "mean_ci95", "paired_difference"]
