"""gtl_ray.evaluation.results: the plain-text table of an evaluation, in percent, with the paired
differences below."""

from __future__ import annotations

from gtl_ray.evaluation.results import format_table


def _row(method: str, mean: float) -> dict:
    return {
        "method": method,
        "shots": 1,
        "n_way": 5,
        "episodes": 4,
        "mean": mean,
        "ci95": 0.01,
        "instinct_mean": 0.2,
        "instinct_ci95": 0.0,
    }


def test_a_table_in_percent_with_the_paired_differences():
    paired = [{"method": "learngene", "versus": "scratch", "shots": 1, "mean": 0.05, "ci95": 0.02}]
    text = format_table([_row("scratch", 0.3), _row("learngene", 0.35)], paired)
    assert "30.00 ± 1.00" in text and "35.00 ± 1.00" in text
    assert "over 4 episodes" in text and "chance 20% for 5-way" in text
    assert any(line.startswith("learngene - scratch") and "+5.00 ± 2.00" in line for line in text.splitlines())
