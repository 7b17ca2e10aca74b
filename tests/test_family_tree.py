"""gtl_ray.family_tree: the figure grows with the population, within bounds."""

from __future__ import annotations

from gtl_ray.family_tree import figure_size, plot_family
from tests.evolution.test_lineage import family


def test_the_figure_grows_with_the_population_within_bounds():
    heights = [figure_size(m)[1] for m in (4, 64, 1000)]
    assert heights == sorted(heights) and heights[0] == 4.6 and heights[-1] == 7.0


def test_a_family_is_drawn():
    assert plot_family(family(), {"g0000m0001", "g0001m0001"}).startswith(b"\x89PNG")
