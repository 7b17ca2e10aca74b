"""gtl_ray.tables: evaluation rows pivoted by shot count, in % as mean ± 95% CI, and as Markdown."""

from __future__ import annotations

from gtl_ray.tables import accuracy_table, fmt, markdown_table, paired_table


def _row(method: str, shots: int, mean: float) -> dict:
    return {
        "method": method,
        "shots": shots,
        "n_way": 5,
        "mean": mean,
        "ci95": 0.01,
        "instinct_mean": 0.2,
        "instinct_ci95": 0.0,
    }


def test_rows_pivot_by_shot_count_in_percent():
    rows = [_row("scratch", 1, 0.3), _row("scratch", 5, 0.5), _row("learngene", 1, 0.4)]
    head, body = accuracy_table(rows)
    assert head == ["method", "5-way 1-shot", "5-way 5-shot", "instinct 1-shot", "instinct 5-shot"]
    assert body[0] == ["scratch", "30.00 ± 1.00", "50.00 ± 1.00", "20.00 ± 0.00", "20.00 ± 0.00"]
    assert body[1][:3] == ["learngene", "40.00 ± 1.00", ""]  # no 5-shot row: an empty cell


def test_paired_differences_and_markdown():
    head, body = paired_table([{"shots": 1, "method": "learngene", "versus": "scratch", "mean": 0.05, "ci95": 0.02}])
    assert body == [["1-shot", "learngene - scratch", "+5.00 ± 2.00"]]
    assert markdown_table(head, body).splitlines()[1] == "|---|---|---|"
    assert fmt(0.12345) == "0.123" and fmt(None) == "" and fmt(3) == "3"
