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
import json
from typing import Any, Sequence

from gtl_ray import storage
from gtl_ray.errors import StorageError
from gtl_ray.family_tree import plot_family
from gtl_ray.inspection import inspect_run
from gtl_ray.percent import chance_of, points
from gtl_ray.run.manifest import Manifest
from gtl_ray.run.store import RunStore
from gtl_ray.tables import fmt as _fmt

# What benchmarks/ use from here: the tables, the plots, the machine and code descriptions.
from gtl_ray.machine import code_version, describe_code, machine_description  # noqa: F401
from gtl_ray.plots import figure_png, new_figure, plot_fitness, plot_timing  # noqa: F401
from gtl_ray.tables import accuracy_table, markdown_table, paired_table  # noqa: F401

FOLD_ROWS = 12  #: longer tables are folded under a summary line
TIMING_KEYS = ("wall", "lifetime_max", "lifetime_mean", "scheduling", "selection", "checkpoint")
CSS = (
    "body{font:14px/1.4 sans-serif;margin:2em;max-width:72em}figure{margin:1em 0}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
    "th{background:#eee}td:first-child{text-align:left}img{max-width:100%}.muted{color:#666}"
)


# ------------------------------------------------------------------ HTML pieces


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _image(name: str, data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode()
    source = f"data:image/png;base64,{encoded}"
    return f'<figure><img alt="{html.escape(alt)}" data-file="{html.escape(name)}" src="{source}"></figure>'


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
            f"<h3>{_e(section)}</h3>{_table(head, body)}<p class=muted>accuracy in % (mean ± 95% CI over "
            f"{_e(', '.join(map(str, episodes)))} episodes, same episodes for every method)</p>"
        )
    return "".join(parts)


def _e(value: Any) -> str:
    """Any value read from a file, as HTML text."""
    return html.escape(_fmt(value))


def _check_out_dir(out_dir: str) -> None:
    if storage.exists(out_dir) and not storage.is_dir(out_dir):
        raise StorageError(f"report --out {out_dir}: is a file, not a folder")


def _foldable(table_html: str, rows: int, what: str) -> str:
    """A table shown whole when short; folded under a summary line when it would push the next
    figure off the screen (a 50-generation run)."""
    if rows <= FOLD_ROWS:
        return table_html
    return f"<details><summary>{_e(what)}: {rows} rows</summary>{table_html}</details>"


def _fitness_section(info: dict[str, Any], figure: str) -> str:
    ways = info["fitness_ways"]
    rows = [[g] + [points(f[k]) for k in ("min", "median", "max", "mean")] for g, f in enumerate(info["fitness"])]
    table = _table(["generation", "min (%)", "median (%)", "max (%)", "mean (%)"], rows)
    return (
        f'<h2 id="fitness">Fitness per generation</h2>{figure}{_foldable(table, len(rows), "fitness table")}'
        f"<p class=muted>fitness: each member's accuracy in % on the query images of its tasks; "
        f"{_e(chance_of(ways))} tasks (what a member that learned nothing scores).</p>"
    )


def _family_section(info: dict[str, Any], figure: str) -> str:
    final, chain = info.get("final_learngene"), info.get("final_lineage") or []
    if not final:
        return (
            f'<h2 id="family">Family tree of the final learngene</h2>{figure}'
            "<p class=muted>The run has no final learngene yet (still running or interrupted).</p>"
        )
    rows = [
        [int(r["id"][1:5]), r["id"], r["parent"] or "random gene", "yes" if r["elite"] else "", r["mutation"]]
        + [r["channels_mutated"], points(r["fitness"])]
        for r in reversed(chain)
    ]
    head = ["generation", "member", "parent", "elite", "mutation", "channels mutated", "fitness (%)"]
    return (
        f'<h2 id="family">Family tree of the final learngene</h2>{figure}'
        f"<p>Final learngene <code>{_e(final['path'])}</code>: {_e(final['architecture'])}, share "
        f"{final['share']:.4f}, {_e(final['num_params'])} parameters, <code>{_e(final['checksum'])}</code>.</p>"
        f"<p>Line of descent, generation 0 first:</p>{_foldable(_table(head, rows), len(rows), 'line of descent')}"
    )


def _timing_section(info: dict[str, Any], figure: str) -> str:
    rows = [
        [g] + [t.get(k) for k in TIMING_KEYS] + [1 - t["lifetime_max"] / t["wall"] if t.get("wall") else None]
        for g, t in enumerate(info["timing"])
    ]
    table = _table(["generation"] + [f"{k} (s)" for k in TIMING_KEYS] + ["overhead share"], rows)
    return (
        f'<h2 id="timing">Timing per generation</h2>{figure}{_foldable(table, len(rows), "timing table")}'
        "<p class=muted>wall: from posting a generation to its last result; scheduling: wall minus the longest "
        "lifetime; selection: tournament and hand-off post; checkpoint: background write of the generation (off "
        "the critical path); overhead share: 1 - lifetime_max / wall.</p>"
    )


def _figures(info: dict[str, Any], manifest: Manifest, lineage: list[Any]) -> dict[str, tuple[bytes | None, str]]:
    """PNG bytes (None: nothing to plot yet) and alt text of the page's three figures."""
    chain = {r["id"] for r in info.get("final_lineage") or []}
    elites = manifest.final.elite_ids if manifest.final else []
    fitness = plot_fitness({"members": info["fitness"]}, ways=info["fitness_ways"]) if info["fitness"] else None
    return {
        "fitness.png": (fitness, "fitness curve"),
        "family.png": (plot_family(lineage, chain, elites) if lineage else None, "family tree"),
        "timing.png": (plot_timing(info["timing"]) if info["timing"] else None, "generation timing"),
    }


def write_report(run_dir: str, out_dir: str | None = None) -> str:
    """Write OUT/report.html (+ fitness.png, family.png, timing.png) for the run at `run_dir`;
    returns the HTML path. `out_dir` defaults to RUN/report. Every input is read and checked
    before anything is written."""
    out_dir = out_dir or storage.join(run_dir, "report")
    _check_out_dir(out_dir)
    info = inspect_run(run_dir)
    store = RunStore.from_path(run_dir)
    manifest = store.read_manifest()
    images = _figures(info, manifest, store.load_lineage(manifest))
    figure = {
        k: _image(k, data, alt) if data else "<p class=muted>no generation completed yet</p>"
        for k, (data, alt) in images.items()
    }
    evaluation = load_evaluation(run_dir, out_dir)
    evaluation_html = (
        _evaluation_html(evaluation)
        if evaluation
        else (
            f"<p class=muted>No evaluation found. Write one with <code>gtl-ray evaluate CONFIG --learngene "
            f"{_e(run_dir)}/final/learngene.safetensors --out {_e(run_dir)}/evaluation.json</code> and run "
            "<code>gtl-ray report</code> again.</p>"
        )
    )
    config = json.dumps(manifest.config, indent=1, sort_keys=True)
    head = f'<meta charset="utf-8"><title>gtl_ray run {_e(info["name"])}</title><style>{CSS}</style>'
    done = f"{_e(info['generations_completed'])}/{_e(info['generations_planned'])} generations"
    facts = f"{done}, population {_e(info['population'])}, seed {_e(info['seed'])}"
    page = f"""<!DOCTYPE html><html><head>{head}</head><body>
<h1>gtl_ray run <code>{_e(info["name"])}</code></h1>
<p>{facts}. Run directory: <code>{_e(run_dir)}</code>.</p>
{_fitness_section(info, figure["fitness.png"])}
{_family_section(info, figure["family.png"])}
{_timing_section(info, figure["timing.png"])}
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
