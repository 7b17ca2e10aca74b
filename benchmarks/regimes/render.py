"""Regime A's tables, from its per-episode Parquet files alone: the val choices (A-select) and the
novel-class table (A-novel) with seed-level intervals and the decision rule. `render(folder)`
returns (markdown, json); `benchmarks/recompute.py` writes them. The novel table's figures and
lines serve any `Regime` (regime B's page is `render_b`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from benchmarks.regimes.protocol import REGIME_A, REST_CANDIDATES, SIZES, Regime
from benchmarks.regimes.rules import choose, comparison_json, decision, over_sizes, selection_means
from gtl_ray.evaluation.episode_file import read_episodes, score_matrix, select
from gtl_ray.evaluation.seeds import paired_by_seed, seed_interval

ORDER = [v.name for v in REST_CANDIDATES]
SIZE_NAMES = [s.name for s in SIZES]


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _pm(mean: float, half: float | None, signed: bool = False) -> str:
    text = f"{100 * mean:+.1f}" if signed else _pct(mean)
    return f"{text} ± {100 * half:.1f}" if half is not None and np.isfinite(half) else f"{text} (1 seed)"


def _values(table: pa.Table, column: str) -> list:
    return sorted(set(table.column(column).to_pylist()), key=lambda v: (str(type(v)), v))


def select_figures(table: pa.Table) -> dict[str, Any]:
    """{data set: {arm: {"means": {variant: {size: mean, "all": mean}}, "chosen": variant}}}."""
    out: dict[str, Any] = {}
    for data in _values(table, "dataset"):
        for arm in _values(select(table, dataset=data), "method"):
            rows = select(table, dataset=data, method=arm)
            means = {
                v: {
                    s: float(np.mean(select(rows, variant=v, size=s).column("accuracy").to_pylist()))
                    for s in _values(select(rows, variant=v), "size")
                }
                for v in _values(rows, "variant")
            }
            overall = selection_means(table, data, arm)
            for v in means:
                means[v]["all"] = overall[v]
            out.setdefault(data, {})[arm] = {"means": means, "chosen": choose(overall, ORDER + sorted(overall))}
    return out


def novel_figures(table: pa.Table, regime: Regime = REGIME_A) -> dict[str, Any]:
    """Per data set and shot count: every arm's accuracy per size and over sizes (seed-level 95%
    intervals), the regime's learngene arm minus every arm over sizes, each arm's preparation and
    fine-tuning sample-gradients (means over seeds and episodes; the preparation rounded to a whole
    sample-gradient), and the decision rule (5-shot)."""
    out: dict[str, Any] = {}
    lead = regime.lead
    for data in _values(table, "dataset"):
        rows = select(table, dataset=data)
        sizes = [s for s in regime.sizes if s in _values(rows, "size")]
        arms = [a for a in regime.arms if a in _values(rows, "method")]
        figures: dict[str, Any] = {"sizes": sizes, "shots": {}}
        for shots in _values(rows, "shots"):
            per_arm = {}
            for arm in arms:
                cells = {
                    size: seed_interval(score_matrix(rows, method=arm, shots=shots, size=size)[0].mean(1))
                    for size in sizes
                }
                mean = over_sizes(rows, data, arm, shots, sizes)
                per_arm[arm] = {
                    "per_size": {s: {"mean": m, "seed_ci95": _finite(h)} for s, (m, h) in cells.items()},
                    "over_sizes": {"mean": float(mean.mean()), "seed_ci95": _finite(seed_interval(mean.mean(1))[1])},
                    "instinct_over_sizes": float(
                        np.mean(select(rows, method=arm, shots=shots).column("instinct").to_pylist())
                    ),
                    "preparation_sample_grads": round(_mean(select(rows, method=arm), "preparation_sample_grads")),
                    "finetune_sample_grads": _mean(select(rows, method=arm, shots=shots), "sample_grads"),
                }
                if arm != lead and lead in arms:
                    c = paired_by_seed(over_sizes(rows, data, lead, shots, sizes), mean)
                    per_arm[arm]["learngene_minus_this"] = comparison_json(c)
            figures["shots"][str(shots)] = per_arm
        if lead in arms and all(a in arms for a in regime.equal_compute) and 5 in _values(rows, "shots"):
            figures["decision"] = decision(rows, data, sizes, 5, regime)
        out[data] = figures
    return out


def _mean(rows: pa.Table, column: str) -> float:
    return float(np.mean(rows.column(column).to_pylist()))


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def render(folder: Path) -> tuple[str, dict[str, Any]]:
    """(markdown, json) of every regime-A table whose Parquet file is in `folder`."""
    return render_pages(folder, REGIME_A, _cost_lines, (select_figures, _select_lines))


def render_pages(
    folder: Path, regime: Regime, meta_lines: Callable[[dict], list[str]], choices: tuple[Callable, Callable]
) -> tuple[str, dict[str, Any]]:
    """(markdown, json) of `regime`'s tables in `folder`: the header and `meta_lines` of run.json
    (if there), the val choices (`choices`: figures from the select table, lines from the
    figures) and the novel table."""
    figures: dict[str, Any] = {"protocol_version": regime.protocol}
    run = folder / "run.json"
    meta = json.loads(run.read_text()) if run.exists() else {}
    lines = header(regime, meta) + meta_lines(meta)
    if (folder / f"{regime.select}.parquet").exists():
        figures["select"] = choices[0](read_episodes(str(folder / f"{regime.select}.parquet")))
        lines += choices[1](figures["select"])
    if (folder / f"{regime.report}.parquet").exists():
        figures["novel"] = novel_figures(read_episodes(str(folder / f"{regime.report}.parquet")), regime)
        lines += novel_lines(figures["novel"], regime)
    return "\n".join(lines) + "\n", figures


def header(regime: Regime, meta: dict[str, Any]) -> list[str]:
    """The page's title and the command that made its files (from run.json, if any)."""
    lines = [f"# {regime.title} (protocol v{regime.protocol})", ""]
    if meta:
        lines += [f"Command: `{meta.get('command', '')}` (profile `{meta.get('profile', '')}`).", ""]
    return lines


def _cost_lines(meta: dict[str, Any]) -> list[str]:
    """The budgets and the evolutions' CPU seconds, from the run's metadata (not a table)."""
    lines = []
    for data, b in meta.get("budgets", {}).items():
        seconds = [v for k, v in meta.get("unit_cpu_seconds", {}).items() if k.startswith(f"{data}/evolve-") and v]
        spent = f", {np.mean(seconds):.0f} CPU s per evolution beyond its narrow pre-training" if seconds else ""
        lines.append(
            f"- {data}: the evolution spends B = {b['B']:,} sample-gradients{spent}; "
            f"`narrow-eq` pre-trains {b['eq_epochs']} epochs, `own/K` {b['own_epochs']} per size."
        )
    return lines + ([""] if lines else [])


def _select_lines(select_figures: dict[str, Any]) -> list[str]:
    lines = [
        "## Choices on val (selection stream, 5-shot; accuracy in %, mean over seeds and episodes)",
        "",
        "Each gene-implanting arm's rest is the candidate with the highest mean over the live sizes "
        "(ties: the earlier in the protocol's list); `narrow-eq` takes narrow's choice.",
        "",
    ]
    for data, arms in select_figures.items():
        for arm, f in arms.items():
            sizes = [s for s in SIZE_NAMES if s in next(iter(f["means"].values()))]
            lines += [
                f"### {data}: `{arm}` (chosen: **{f['chosen']}**)",
                "",
                "| rest | " + " | ".join(sizes) + " | mean |",
                "|---" * (len(sizes) + 2) + "|",
            ]
            for v in ORDER + sorted(set(f["means"]) - set(ORDER)):
                if v in f["means"]:
                    m = f["means"][v]
                    mark = " **(chosen)**" if v == f["chosen"] else ""
                    lines.append(f"| {v}{mark} | " + " | ".join(_pct(m[s]) for s in sizes) + f" | {_pct(m['all'])} |")
            lines.append("")
    return lines


def novel_lines(novel: dict[str, Any], regime: Regime = REGIME_A) -> list[str]:
    """The novel table per data set and shot count (one column per size, and over the sizes when
    there are several), and the decision rule's verdict."""
    lines = ["## Novel classes (report stream)", ""]
    several = len(regime.sizes) > 1
    for data, f in novel.items():
        columns = [*f["sizes"], "over sizes"] if several else f["sizes"]
        for shots, arms in f["shots"].items():
            lines += [
                f"### {data}, 5-way {shots}-shot (accuracy in %, mean ± seed-level 95% interval)",
                "",
                "| arm | "
                + " | ".join(columns)
                + f" | {regime.lead} − this (seed CI; episode CI) | preparation sample-grads"
                + " | fine-tuning sample-grads per episode |",
                "|---" * (len(columns) + 4) + "|",
            ]
            for arm, a in arms.items():
                cells = [_pm(a["per_size"][s]["mean"], a["per_size"][s]["seed_ci95"]) for s in f["sizes"]]
                cells += [_pm(a["over_sizes"]["mean"], a["over_sizes"]["seed_ci95"])] if several else []
                d = a.get("learngene_minus_this")
                diff = (
                    ""
                    if d is None
                    else f"{_pm(d['mean'], d['seed_ci95'], True)}; ± {100 * d['episode_ci95']:.1f}"
                    + (" resolved" if d["resolved"] else "")
                )
                costs = f"{a['preparation_sample_grads']:.3g} | {a['finetune_sample_grads']:.3g}"
                lines.append(f"| {arm} | " + " | ".join(cells) + f" | {diff} | {costs} |")
            lines.append("")
        if "decision" in f:
            dec = f["decision"]
            d = dec["difference"]
            verdict = "met" if dec["met"] else "not met"
            lines += [
                f"**Decision ({data}, 5-shot{', over sizes' if several else ''}):** {regime.lead} − "
                f"{dec['best_equal_compute']} (the best equal-compute baseline) = "
                f"{_pm(d['mean'], d['seed_ci95'], True)} points (seed-level); "
                f"target +1 with the interval above 0: **{verdict}**.",
                "",
            ]
    return lines
