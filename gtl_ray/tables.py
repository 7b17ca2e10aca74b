"""Result tables for people, shared by `gtl-ray report`, the model card of `gtl-ray export` and
the benchmarks' pages: evaluation rows pivoted by shot count, accuracies in % as mean ± 95% CI."""

from __future__ import annotations

from typing import Any, Sequence


def fmt(value: Any) -> str:
    """A cell: floats to 3 decimals, None empty."""
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)


def accuracy_table(rows: Sequence[dict[str, Any]], extra: Sequence[str] = ()) -> tuple[list[str], list[list[str]]]:
    """Evaluation rows as (head, body): one line per method (and extra keys), accuracy and
    instinct in % as mean ± 95% CI, one column pair per shot count. Shared with benchmarks/."""
    shots = sorted({r["shots"] for r in rows})
    n_way = rows[0]["n_way"] if rows else 0
    keys = list(dict.fromkeys(tuple(r.get(k) for k in extra) + (r["method"],) for r in rows))
    by = {tuple(r.get(k) for k in extra) + (r["method"], r["shots"]): r for r in rows}
    head = list(extra) + ["method"] + [f"{n_way}-way {s}-shot" for s in shots] + [f"instinct {s}-shot" for s in shots]
    compute = bool(rows) and "transferred_share" in rows[0]
    head += ["transferred", "preparation sample-grads", "fine-tune sample-grads / episode"] if compute else []
    body = []
    for key in keys:
        cells = [fmt(k) for k in key]
        for field in ("mean", "instinct_mean"):
            for s in shots:
                r = by.get(key + (s,))
                cells.append(f"{100 * r[field]:.2f} ± {100 * r[field.replace('mean', 'ci95')]:.2f}" if r else "")
        if compute:
            present = [by[key + (s,)] for s in shots if key + (s,) in by]
            cells += [
                f"{100 * (present[0]['transferred_share'] or 0):.1f}%",
                f"{present[0].get('preparation_sample_grads') or 0:,}",
                " / ".join(f"{r.get('finetune_sample_grads') or 0:,.0f}" for r in present),
            ]
        body.append(cells)
    return head, body


def paired_table(paired: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Paired differences as (head, body): shots, `method - versus`, points (mean ± 95% CI of
    the per-episode difference). Shared with benchmarks/."""
    return ["shots", "paired difference", "points (mean ± 95% CI)"], [
        [f"{p['shots']}-shot", f"{p['method']} - {p['versus']}", f"{100 * p['mean']:+.2f} ± {100 * p['ci95']:.2f}"]
        for p in paired
    ]


def markdown_table(head: Sequence[Any], body: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (benchmarks' result pages)."""
    lines = ["| " + " | ".join(map(str, head)) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in body])
