"""Recompute every regime table from its committed per-episode Parquet files alone.

    python benchmarks/recompute.py [FOLDER ...]    # default: benchmarks/results/regime_a and regime_b

Reads FOLDER/A-select.parquet and FOLDER/A-novel.parquet, or FOLDER/B-select.parquet and
FOLDER/B-novel.parquet (whichever exist; checked column by column on read), recomputes every mean,
seed-level and episode-level interval, val choice (regime A's rest, regime B's tuned recipes) and
the decision rule, and writes FOLDER/regime_a.{md,json} or FOLDER/regime_b.{md,json} (FOLDER/run.json,
if there, only adds the command and the compute to the page)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.regimes.protocol import REGIME_A, REGIME_B  # noqa: E402
from benchmarks.regimes.render import render  # noqa: E402
from benchmarks.regimes.render_b import render_b  # noqa: E402

RENDERERS = ((REGIME_A, render), (REGIME_B, render_b))


def write_tables(folder: Path) -> str:
    """Render the tables of every regime whose Parquet files are in `folder` (regime A's when
    none is), write REGIME.{md,json} there, return the markdown."""
    present = [
        (regime, fn)
        for regime, fn in RENDERERS
        if any((folder / f"{t}.parquet").exists() for t in (regime.select, regime.report))
    ]
    pages = []
    for regime, fn in present or RENDERERS[:1]:
        markdown, figures = fn(folder)
        (folder / f"{regime.name}.md").write_text(markdown)
        (folder / f"{regime.name}.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
        pages.append(markdown)
    return "\n".join(pages)


def main(argv: list[str] | None = None) -> int:
    results = ROOT / "benchmarks" / "results"
    folders = [Path(f) for f in (argv if argv is not None else sys.argv[1:])] or [
        folder for folder in (results / "regime_a", results / "regime_b") if folder.exists()
    ]
    for folder in folders:
        print(write_tables(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
