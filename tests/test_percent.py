"""gtl_ray.percent: fractions shown as percent, and fitness beside its chance level."""

from __future__ import annotations

from gtl_ray.percent import chance_note, chance_of, fitness_ways, percent, points


def test_percent_and_points():
    assert percent(0.7234) == "72.3%" and percent(None) == "-" and percent(0.5, 0) == "50%"
    assert points(0.7234, 2) == "72.34"


def test_chance_follows_the_fitness_kind():
    raw = {"evolution": {"fitness": "lifetime"}, "lifetime": {"n_way": 4}, "evaluation": {"n_way": 10}}
    assert fitness_ways(raw) == 4 and chance_note(raw) == "chance 25% for 4-way"
    assert fitness_ways({**raw, "evolution": {"fitness": "descendant"}}) == 10
    assert fitness_ways({}) == 5 and chance_of(5) == "chance 20% for 5-way"
