"""Regime B's tables, from its per-episode Parquet files alone: the tuning of narrow's and full's
recipes on val (B-select: every trial's selection-stream episodes, the winner per seed recomputed)
and the novel-class table (B-novel, regime A's novel rendering with regime B's arms). run.json, if
there, adds the command, the rest regime A chose and every seed's compute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from benchmarks.regimes.protocol import REGIME_B, TUNED
from benchmarks.regimes.render import render_pages
from benchmarks.regimes.rules import choose, selection_means
from gtl_ray.evaluation.episode_file import select


def tuning_figures(table: pa.Table) -> dict[str, Any]:
    """{data set: {tuned arm: {seed: trials, sample-gradients spent, every trial's mean, the
    chosen trial (highest mean; ties: the earlier) and its mean}}}."""
    out: dict[str, Any] = {}
    for data in sorted(set(table.column("dataset").to_pylist())):
        for arm in [a for a in TUNED if a in set(select(table, dataset=data).column("method").to_pylist())]:
            rows = select(table, dataset=data, method=arm)
            for seed in sorted(set(rows.column("seed").to_pylist())):
                means = selection_means(select(rows, seed=seed), data, arm)
                chosen = choose(means, sorted(means, key=lambda trial: int(trial.split("-")[1])))
                out.setdefault(data, {}).setdefault(arm, {})[str(seed)] = {
                    "trials": len(means),
                    "spent": int(sum(select(rows, seed=seed).column("sample_grads").to_pylist())),
                    "trial_means": means,
                    "chosen": chosen,
                    "chosen_accuracy": means[chosen],
                    "mean_of_trials": float(np.mean(list(means.values()))),
                }
    return out


def render_b(folder: Path) -> tuple[str, dict[str, Any]]:
    """(markdown, json) of every regime-B table whose Parquet file is in `folder`."""
    choices = (tuning_figures, _tuning_lines)
    return render_pages(folder, REGIME_B, lambda meta: _compute_lines(meta) + _recipe_lines(meta), choices)


RECIPE_COLUMNS = ("lr", "lr_mult_early", "lr_mult_middle", "lr_mult_late", "lr_mult_head", "steps", "weight_decay")


def _recipe_lines(meta: dict[str, Any]) -> list[str]:
    """The recipe each recipe arm fine-tunes with, per data set and seed (from run.json)."""
    lines = []
    for data, arms in meta.get("choices", {}).items():
        recipes = [
            (arm, seed, c["recipe"]) for arm, seeds in arms.items() if arm != "rest" for seed, c in seeds.items()
        ]
        if not recipes:
            continue
        lines += [f"### {data}: the recipes (evolved with the gene, or tuned on val)", ""]
        lines += ["| arm | seed | " + " | ".join(RECIPE_COLUMNS) + " |", "|---" * (2 + len(RECIPE_COLUMNS)) + "|"]
        for arm, seed, recipe in recipes:
            lines.append(f"| {arm} | {seed} | " + " | ".join(f"{recipe[k]:.3g}" for k in RECIPE_COLUMNS) + " |")
        lines.append("")
    return lines


def _compute_lines(meta: dict[str, Any]) -> list[str]:
    """Per data set and seed: the rest regime A chose for narrow, the evolution's sample-gradients
    by part, each tuning's budget and spend (from run.json; not a table)."""
    lines = []
    for data, seeds in meta.get("compute", {}).items():
        rest = meta.get("choices", {}).get(data, {}).get("rest", "?")
        lines += [
            f"### {data}: compute by seed (sample-gradients); every gene-implanting arm's rest: `{rest}`",
            "",
            "| seed | pre-training | lifetimes | fitness | evolution total B | "
            + " | ".join(f"{arm} budget / spent (trials)" for arm in TUNED)
            + " |",
            "|---" * (5 + len(TUNED)) + "|",
        ]
        for seed, c in seeds.items():
            e = c["evolution"]
            tuned = [f"{c[a]['budget']:,} / {c[a]['spent']:,} ({c[a]['trials']})" if a in c else "" for a in TUNED]
            parts = f"{e['pretrain']:,} | {e['lifetime']:,} | {e['fitness'] + e['final_selection']:,} | {e['total']:,}"
            lines.append(f"| {seed} | {parts} | " + " | ".join(tuned) + " |")
        lines.append("")
    return lines


TUNING_NOTE = (
    "Seeded random search: each seed's trials fit the budget its evolution spent beyond its narrow pre-training; "
    "every trial meets the same episodes; the highest mean wins (ties: the earlier trial)."
)
TUNING_COLUMNS = ("data set", "arm", "seed", "trials", "sample-grads spent", "chosen", "its mean", "mean of all trials")


def _tuning_lines(tuning: dict[str, Any]) -> list[str]:
    title = "## Recipe tuning on val (selection stream, 5-shot; accuracy in %)"
    lines = [title, "", TUNING_NOTE, "", "| " + " | ".join(TUNING_COLUMNS) + " |", "|---" * len(TUNING_COLUMNS) + "|"]
    for data, arms in tuning.items():
        for arm, seeds in arms.items():
            for seed, f in seeds.items():
                lines.append(
                    f"| {data} | {arm} | {seed} | {f['trials']} | {f['spent']:,} | {f['chosen']} | "
                    f"{100 * f['chosen_accuracy']:.1f} | {100 * f['mean_of_trials']:.1f} |"
                )
    return lines + [""]
