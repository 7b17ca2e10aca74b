"""`gtl-ray report RUN`: one self-contained HTML page for a run — fitness curve, the family tree
of the final learngene, per-generation timing and, when present, evaluation tables.

Plots are PNGs written next to the page and also embedded in it (base64), so the page opens
offline, alone or moved; it loads nothing from the network. Evaluation results are picked up from
`RUN/evaluation.json` or `OUT/evaluation.json` (`OUT` defaults to `RUN/report`), the file
`gtl-ray evaluate CONFIG --learngene RUN/final/learngene.safetensors --out RUN/evaluation.json`
writes (`{"results": rows}`; extra sections of row lists, as the efficacy benchmark writes, are
shown too). The plotting helpers and `machine_description` are shared with `benchmarks/`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import platform
from typing import Any, Sequence

from gtl_ray import storage
from gtl_ray.errors import StorageError
from gtl_ray.inspection import inspect_run
from gtl_ray.run_store import RunStore
from gtl_ray.tables import accuracy_table, markdown_table, paired_table  # noqa: F401  (benchmarks use them from here)
from gtl_ray.tables import fmt as _fmt

TIMING_KEYS = ("wall", "lifetime_max", "lifetime_mean", "scheduling", "selection", "checkpoint")
CSS = "body{font:14px/1.4 sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#eee}td:first-child{text-align:left}img{max-width:100%}.muted{color:#666}"


def machine_description() -> dict[str, Any]:
    """What a timing was measured on: CPU, memory, GPU, load and library versions."""
    import numpy
    import ray
    import torch

    cpu = next(
        (line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    mem = next(
        (int(line.split()[1]) * 1024 for line in _read_lines("/proc/meminfo") if line.startswith("MemTotal")), None
    )
    gpus = (
        [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    )
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu,
        "memory_bytes": mem,
        "gpus": gpus,
        "device": "cuda" if gpus else "cpu",
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": ray.__version__,
        "numpy": numpy.__version__,
    }


def code_version(root: str | os.PathLike) -> dict[str, Any]:
    """The git commit of `root` and the tracked files changed since (results depend on them)."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            ).stdout.rstrip("\n")
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "HEAD").strip() or None,
        "modified": git("status", "--porcelain", "--untracked-files=no").splitlines(),
    }


def describe_code(code: dict[str, Any]) -> str:
    """One line for a results page: the commit and what was modified on top of it."""
    changed = (
        f" with {len(code['modified'])} modified files ({', '.join(m[3:] for m in code['modified'])})"
        if code["modified"]
        else ""
    )
    return f"Code: commit {(code['commit'] or 'unknown')[:10]}{changed}."


def _read_lines(path: str) -> list[str]:
    try:
        with open(path) as handle:
            return handle.readlines()
    except OSError:
        return []


# ------------------------------------------------------------------ plots (PNG bytes)


def figure_png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def new_figure(width: float = 6.4, height: float = 3.6):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def _integer_ticks(ax, axes: str) -> None:
    from matplotlib.ticker import MaxNLocator

    for name in axes:
        getattr(ax, f"{name}axis").set_major_locator(MaxNLocator(integer=True))


def plot_fitness(curves: dict[str, Sequence[dict[str, float]]], title: str = "fitness per generation") -> bytes:
    """Median line and min..max band per generation for each named curve (fitness 0..1 as %)."""
    fig, ax = new_figure()
    for label, curve in curves.items():
        gens = list(range(len(curve)))
        line = ax.plot(gens, [100 * c["median"] for c in curve], marker="o", label=f"{label} median")[0]
        ax.fill_between(
            gens,
            [100 * c["min"] for c in curve],
            [100 * c["max"] for c in curve],
            color=line.get_color(),
            alpha=0.2,
            label=f"{label} min..max",
        )
    ax.set(xlabel="generation", ylabel="query accuracy of members (%)", title=title)
    _integer_ticks(ax, "x")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return figure_png(fig)


def plot_timing(timing: Sequence[dict[str, float]]) -> bytes:
    """Per generation: the longest lifetime and the rest of the wall time, stacked."""
    fig, ax = new_figure()
    gens = list(range(len(timing)))
    life = [t.get("lifetime_max", 0.0) for t in timing]
    other = [max(0.0, t.get("wall", 0.0) - t.get("lifetime_max", 0.0)) for t in timing]
    ax.bar(gens, life, label="longest lifetime")
    ax.bar(gens, other, bottom=life, label="scheduling, hand-off, waiting")
    ax.plot(gens, [t.get("checkpoint", float("nan")) for t in timing], "k.", label="checkpoint write (in background)")
    ax.set(xlabel="generation", ylabel="seconds", title="generation wall time")
    _integer_ticks(ax, "x")
    ax.legend(fontsize=8)
    return figure_png(fig)


def plot_family(lineage: Sequence[Any], chain_ids: set[str], elite_ids: Sequence[str] = ()) -> bytes:
    """The family tree as a PNG (see `family_figure`)."""
    return figure_png(family_figure(lineage, chain_ids, elite_ids))


def family_figure(lineage: Sequence[Any], chain_ids: set[str], elite_ids: Sequence[str] = ()):
    """The family tree, readable at paper scale (64 members x 50 generations). Each generation is
    a column of its members ordered by fitness (row 0: the fittest; member indices are mere slots,
    a rank says where an ancestor stood), shaded by fitness; over it the ancestry of the final
    elites (`elite_ids`) as thin lines, and on top the final learngene's line of descent
    (`chain_ids`), squares where a gene passed on unchanged (elite), dots where it was mutated.
    Lines whose genes died out are not drawn."""
    import numpy as np
    from matplotlib import colormaps, patheffects
    from matplotlib.collections import LineCollection
    from matplotlib.colors import ListedColormap

    fig, ax = new_figure(8.0, 4.6)
    by_id = {r.id: r for r in lineage}
    columns: dict[int, list[Any]] = {}
    for r in lineage:
        columns.setdefault(r.generation, []).append(r)
    generations, members = 1 + max(columns), max(len(c) for c in columns.values())
    grid = np.full((members, generations), np.nan)
    rank: dict[str, int] = {}
    for generation, column in columns.items():
        for k, r in enumerate(sorted(column, key=lambda r: (-r.fitness, r.member))):
            rank[r.id] = k
            grid[k, generation] = 100 * r.fitness
    pale = ListedColormap(colormaps["Greys"](np.linspace(0.04, 0.55, 256)))  # light enough for the lines on top
    cells = ax.imshow(
        grid,
        origin="upper",
        aspect="auto",
        cmap=pale,
        interpolation="nearest",
        extent=(-0.5, generations - 0.5, members - 0.5, -0.5),
    )
    fig.colorbar(cells, ax=ax, label="fitness (%)", pad=0.02)
    halo = [patheffects.withStroke(linewidth=3.5, foreground="white")]

    def edges(leaf: str) -> set[tuple[str, str]]:
        found, current = set(), by_id.get(leaf)
        while current is not None and current.parent in by_id:
            found.add((current.parent, current.id))
            current = by_id[current.parent]
        return found

    chain = sorted((by_id[i] for i in chain_ids if i in by_id), key=lambda r: r.generation)
    on_chain = {(a.id, b.id) for a, b in zip(chain, chain[1:])}
    kin = sorted(set().union(*(edges(e) for e in elite_ids)) - on_chain) if elite_ids else []
    if kin:
        segments = [[(by_id[a].generation, rank[a]), (by_id[b].generation, rank[b])] for a, b in kin]
        ax.add_collection(
            LineCollection(
                segments,
                colors="tab:blue",
                linewidths=1.3,
                zorder=3,
                path_effects=halo,
                label="ancestry of the final elites",
                gid="elite-ancestry",
            )
        )
    if chain:
        xs, ys = [r.generation for r in chain], [rank[r.id] for r in chain]
        ax.plot(
            xs,
            ys,
            color="tab:red",
            lw=2.4,
            zorder=5,
            path_effects=[patheffects.withStroke(linewidth=4.5, foreground="white")],
            label="line of the final learngene",
            gid="line-of-descent",
        )
        for elite, marker, label in ((True, "s", "passed on unchanged (elite)"), (False, "o", "mutated")):
            picked = [r for r in chain if bool(r.elite) == elite]
            if picked:
                ax.scatter(
                    [r.generation for r in picked],
                    [rank[r.id] for r in picked],
                    marker=marker,
                    s=22,
                    color="tab:red",
                    edgecolors="white",
                    linewidths=0.8,
                    zorder=6,
                    label=label,
                    gid="descent-marks",
                )
    ax.set(
        xlim=(-0.5, generations - 0.5),
        ylim=(members - 0.5, -0.5),
        xlabel="generation",
        ylabel="rank in its generation (0: fittest)",
        title=f"family tree: {members} members x {generations} generations",
    )
    _integer_ticks(ax, "xy")
    if chain or kin:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, frameon=False)
    return fig


# ------------------------------------------------------------------ HTML pieces


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _image(name: str, data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode()
    return f'<figure><img alt="{html.escape(alt)}" data-file="{html.escape(name)}" src="data:image/png;base64,{encoded}"></figure>'


def load_evaluation(run_dir: str, out_dir: str) -> dict[str, list[dict[str, Any]]] | None:
    """The row sections of the first evaluation JSON found: RUN/evaluation.json, then
    OUT/evaluation.json; each row parsed and checked (`evaluation.results_file`)."""
    from gtl_ray.evaluation.results_file import read_evaluation

    for location in (storage.join(run_dir, "evaluation.json"), storage.join(out_dir, "evaluation.json")):
        if storage.exists(location):
            return read_evaluation(location)
    return None


def _evaluation_html(evaluation: dict[str, list[dict[str, Any]]]) -> str:
    parts = []
    for section, rows in evaluation.items():
        if section == "paired" and isinstance(rows, list) and rows:
            parts.append(f"<h3>paired differences</h3>{_table(*paired_table(rows))}")
            continue
        if not (
            isinstance(rows, list)
            and rows
            and isinstance(rows[0], dict)
            and "method" in rows[0]
            and "instinct_mean" in rows[0]
        ):
            continue
        extra = [k for k in ("variant", "width", "depth", "share") if k in rows[0]]
        head, body = accuracy_table(rows, extra)
        episodes = sorted({r["episodes"] for r in rows})
        parts.append(
            f"<h3>{_e(section)}</h3>{_table(head, body)}<p class=muted>accuracy in % (mean ± 95% CI over {_e(', '.join(map(str, episodes)))} episodes, same episodes for every method)</p>"
        )
    return "".join(parts)


def _e(value: Any) -> str:
    """Any value read from a file, as HTML text."""
    return html.escape(_fmt(value))


def _check_out_dir(out_dir: str) -> None:
    if storage.exists(out_dir) and not storage.is_dir(out_dir):
        raise StorageError(f"report --out {out_dir}: is a file, not a folder")


def write_report(run_dir: str, out_dir: str | None = None) -> str:
    """Write OUT/report.html (+ fitness.png, family.png, timing.png) for the run at `run_dir`;
    returns the HTML path. `out_dir` defaults to RUN/report. Every input is read and checked
    before anything is written."""
    out_dir = out_dir or storage.join(run_dir, "report")
    _check_out_dir(out_dir)
    info = inspect_run(run_dir)
    root, _, name = run_dir.rstrip("/").rpartition("/")
    store = RunStore.from_path(run_dir)
    manifest = store.read_manifest()
    lineage = store.load_lineage(manifest)
    evaluation = load_evaluation(run_dir, out_dir)
    chain = info.get("final_lineage") or []
    images = {
        "fitness.png": (plot_fitness({"members": info["fitness"]}) if info["fitness"] else None, "fitness curve"),
        "family.png": (
            plot_family(lineage, {r["id"] for r in chain}, (manifest.get("final") or {}).get("elite_ids", []))
            if lineage
            else None,
            "family tree",
        ),
        "timing.png": (plot_timing(info["timing"]) if info["timing"] else None, "generation timing"),
    }
    figure = {
        k: _image(k, data, alt) if data else "<p class=muted>no generation completed yet</p>"
        for k, (data, alt) in images.items()
    }

    curve_rows = [[g, f["min"], f["median"], f["max"], f["mean"]] for g, f in enumerate(info["fitness"])]
    timing_rows = [
        [g] + [t.get(k) for k in TIMING_KEYS] + [1 - t["lifetime_max"] / t["wall"] if t.get("wall") else None]
        for g, t in enumerate(info["timing"])
    ]
    final = info.get("final_learngene")
    if final:
        tree = _table(
            ["generation", "member", "parent", "elite", "mutation", "channels mutated", "fitness"],
            [
                [
                    int(r["id"][1:5]),
                    r["id"],
                    r["parent"] or "random gene",
                    "yes" if r["elite"] else "",
                    r["mutation"],
                    r["channels_mutated"],
                    r["fitness"],
                ]
                for r in reversed(chain)
            ],
        )
        final_html = f"<p>Final learngene <code>{_e(final['path'])}</code>: {_e(final['architecture'])}, share {final['share']:.4f}, {_e(final['num_params'])} parameters, <code>{_e(final['checksum'])}</code>.</p><p>Line of descent, generation 0 first:</p>{tree}"
    else:
        final_html = "<p class=muted>The run has no final learngene yet (still running or interrupted).</p>"
    evaluation_html = (
        _evaluation_html(evaluation)
        if evaluation
        else f"<p class=muted>No evaluation found. Write one with <code>gtl-ray evaluate CONFIG --learngene {_e(run_dir)}/final/learngene.safetensors --out {_e(run_dir)}/evaluation.json</code> and run <code>gtl-ray report</code> again.</p>"
    )
    config = json.dumps(manifest.get("config", {}), indent=1, sort_keys=True)
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>gtl_ray run {_e(info["name"])}</title><style>{CSS}</style></head><body>
<h1>gtl_ray run <code>{_e(info["name"])}</code></h1>
<p>{_e(info["generations_completed"])}/{_e(info["generations_planned"])} generations, population {_e(info["population"])}, seed {_e(info["seed"])}. Run directory: <code>{_e(run_dir)}</code>.</p>
<h2 id="fitness">Fitness per generation</h2>{figure["fitness.png"]}
{_table(["generation", "min", "median", "max", "mean"], curve_rows)}
<p class=muted>fitness: each member's query accuracy (0..1) on its own environment after its lifetime.</p>
<h2 id="family">Family tree of the final learngene</h2>{figure["family.png"]}{final_html}
<h2 id="timing">Timing per generation</h2>{figure["timing.png"]}
{_table(["generation"] + [f"{k} (s)" for k in TIMING_KEYS] + ["overhead share"], timing_rows)}
<p class=muted>wall: from posting a generation to its last result; scheduling: wall minus the longest lifetime; selection: tournament and hand-off post; checkpoint: background write of the generation (off the critical path); overhead share: 1 - lifetime_max / wall.</p>
<h2 id="evaluation">Evaluation on novel classes</h2>{evaluation_html}
<details><summary>config</summary><pre>{html.escape(config, quote=False)}</pre></details>
</body></html>
"""
    _check_out_dir(out_dir)
    try:
        for file_name, (data, _) in images.items():
            if data is not None:
                storage.write_bytes_atomic(storage.join(out_dir, file_name), data)
        path = storage.join(out_dir, "report.html")
        storage.write_bytes_atomic(path, page.encode("utf-8", "backslashreplace"))  # lone surrogates from JSON
    except OSError as exc:
        raise StorageError(f"report --out {out_dir}: cannot write there: {exc}") from None
    return path
