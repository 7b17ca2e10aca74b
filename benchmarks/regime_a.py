"""Regime A of issue 23, one gene for many descendant sizes, under `benchmarks/protocol.md`.

    python benchmarks/regime_a.py [--profile full|quick|tiny] [--data offline,glyphs] [--novel]
        [--workers 2] [--work DIR] [--out benchmarks/results/regime_a]

Without --novel it runs what the protocol chooses on val (stages 1-5 of
`benchmarks/regimes/regime_a.py`) and writes OUT/A-select.parquet; with --novel also the novel
table, OUT/A-novel.parquet (run once per protocol version, by the command protocol.md names).
Both then go to OUT/regime_a.{md,json} through `benchmarks/recompute.py`'s rendering, with
OUT/run.json holding the command, the profile, the choices, the budgets and the units' CPU seconds.
Units are cached under --work, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recompute import write_tables  # noqa: E402
from benchmarks.regimes.costs import measure, projection  # noqa: E402
from benchmarks.regimes.protocol import DATASETS, PROFILES, REPORT, REST_CANDIDATES, SELECT, Profile  # noqa: E402
from benchmarks.regimes.regime_a import run  # noqa: E402
from benchmarks.regimes.units import Study, write_json  # noqa: E402
from gtl_ray.evaluation.episode_file import write_episodes  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", choices=sorted(PROFILES), default="full", help="quick: every code path in minutes")
    p.add_argument("--data", default="offline,glyphs", help=f"comma-separated: {', '.join(DATASETS)}")
    p.add_argument("--novel", action="store_true", help="also the novel-class table (once per protocol version)")
    p.add_argument("--measure", action="store_true", help="only measure the costs (base classes) -> OUT/costs.json")
    p.add_argument("--workers", type=int, default=2, help="processes, one torch thread each")
    p.add_argument("--work", default="/tmp/gtl-regime-a", help="cache of every unit (resumable)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "regime_a"))
    return p.parse_args(argv)


def measure_costs(studies: dict[str, Study], profile: Profile, out: Path, workers: int) -> int:
    """Measure every data set's costs (`regimes.costs`) and project the profile's CPU seconds."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        jobs = {d: pool.submit(measure, study, REST_CANDIDATES[0]) for d, study in studies.items()}
        costs = {d: job.result() for d, job in jobs.items()}
    epochs = {d: study.config(0).pretrain.epochs for d, study in studies.items()}
    result = {
        "profile": profile.name,
        "costs": costs,
        "projection": {d: projection(costs[d], profile, epochs[d]) for d in studies},
        "projection_3_seeds_more_episodes": {
            d: projection(costs[d], replace(profile, seeds=(0, 1, 2), select_episodes=10, novel_episodes=20), epochs[d])
            for d in studies
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "costs.json", result)
    print(json.dumps(result["projection"], indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = [d.strip() for d in args.data.split(",") if d.strip()]
    unknown = sorted(set(data) - set(DATASETS))
    if unknown or not data:
        raise SystemExit(f"--data: unknown data set(s) {unknown}; choose from {', '.join(DATASETS)}")
    profile = PROFILES[args.profile]
    work = str(Path(args.work, profile.name))
    studies = {d: Study(d, profile.overrides, work) for d in data}
    if args.measure:
        return measure_costs(studies, profile, Path(args.out), args.workers)
    started = time.time()
    regime = run(studies, profile, args.workers, args.novel)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for table, rows in regime.rows.items():
        if rows:
            write_episodes(str(out / f"{table}.parquet"), rows)
    units = sorted(Path(work).glob("*/units/*.json"))
    write_json(
        out / "run.json",
        {
            "command": shlex.join(["python", "benchmarks/regime_a.py", *(argv if argv is not None else sys.argv[1:])]),
            "profile": profile.name,
            "data": data,
            "choices": regime.choices,
            "budgets": regime.budget,
            "wall_seconds": time.time() - started,
            "unit_cpu_seconds": {
                f"{u.parent.parent.name}/{u.stem}": json.loads(u.read_text()).get("cpu_seconds") for u in units
            },
            "tables": [t for t in (SELECT, REPORT) if (out / f"{t}.parquet").exists()],
        },
    )
    print(write_tables(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
