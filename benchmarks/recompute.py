"""Recompute every regime table from its committed per-episode Parquet files alone.

    python benchmarks/recompute.py [FOLDER ...]    # default: benchmarks/results/regime_a

Reads FOLDER/A-select.parquet and FOLDER/A-novel.parquet (whichever exist; checked column by
column on read), recomputes every mean, seed-level and episode-level interval, val choice and the
decision rule, and writes FOLDER/regime_a.md and FOLDER/regime_a.json (FOLDER/run.json, if there,
only adds the command to the page)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.regimes.render import render  # noqa: E402


def write_tables(folder: Path) -> str:
    """Render `folder`'s tables, write regime_a.{md,json} there, return the markdown."""
    markdown, figures = render(folder)
    (folder / "regime_a.md").write_text(markdown)
    (folder / "regime_a.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    return markdown


def main(argv: list[str] | None = None) -> int:
    folders = [Path(f) for f in (argv if argv is not None else sys.argv[1:])] or [
        ROOT / "benchmarks" / "results" / "regime_a"
    ]
    for folder in folders:
        print(write_tables(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
