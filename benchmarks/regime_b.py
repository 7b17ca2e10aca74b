"""Regime B of issue 23, the fine-tuning recipe evolves with the gene, under `benchmarks/protocol.md`.

    python benchmarks/regime_b.py [--profile full|quick|tiny] [--data offline,glyphs] [--novel]
        [--measure] [--workers 2] [--work /tmp/gtl-regime-a] [--out benchmarks/results/regime_b]

Without --novel it runs what the protocol chooses on val (`benchmarks/regimes/regime_b.py`: the
narrow starts and narrow's rest as regime A chooses them, the evolutions with recipes, the tuning
of narrow's and full's recipes) and writes OUT/B-select.parquet; with --novel also the novel table,
OUT/B-novel.parquet (run once per protocol version, by the command protocol.md names). Both then go
to OUT/regime_b.{md,json} through `benchmarks/recompute.py`, with OUT/run.json holding the command,
the choices (rest, tuned recipes), every seed's compute and the units' CPU seconds. --measure only
measures the costs on base classes (OUT/costs.json). The work folder defaults to regime A's, whose
units (narrow starts, narrow's rest scores, x1 pre-trainings) regime B shares.
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
from benchmarks.regimes.costs_b import measure_b, projection_b  # noqa: E402
from benchmarks.regimes.protocol import DATASETS, PROFILES_B, REGIME_B, ProfileB  # noqa: E402
from benchmarks.regimes.regime_b import run  # noqa: E402
from benchmarks.regimes.units import Study, write_json  # noqa: E402
from gtl_ray.evaluation.episode_file import write_episodes  # noqa: E402

REGIME_A_RUN = ROOT / "benchmarks" / "results" / "regime_a" / "run.json"  #: regime A's val choices
#: other sizes of the full profile that --measure projects beside the chosen one (seeds, novel episodes)
ALTERNATIVES = ((3, 100), (5, 40), (5, 80))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", choices=sorted(PROFILES_B), default="full", help="quick: every code path in minutes")
    p.add_argument("--data", default="offline,glyphs", help=f"comma-separated: {', '.join(DATASETS)}")
    for flag, meaning in (
        ("--novel", "also the novel-class table (once per protocol version)"),
        ("--measure", "only measure the costs (base classes) -> OUT/costs.json"),
    ):
        p.add_argument(flag, action="store_true", help=meaning)
    p.add_argument("--workers", type=int, default=2, help="processes, one torch thread each")
    p.add_argument("--work", default="/tmp/gtl-regime-a", help="cache of every unit, shared with regime A")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "regime_b"))
    args = p.parse_args(argv)
    args.data_sets = [d.strip() for d in args.data.split(",") if d.strip()]
    if not args.data_sets or not set(args.data_sets) <= set(DATASETS):
        p.error(f"--data: {args.data!r}; choose from {', '.join(DATASETS)}")
    return args


def measure(studies: dict[str, Study], profile: ProfileB, out: Path, workers: int) -> dict:
    """Every data set's costs (`costs_b`) and their projections, written to OUT/costs.json."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        jobs = {d: pool.submit(measure_b, study, profile) for d, study in studies.items()}
        costs = {d: job.result() for d, job in jobs.items()}
    result = {"profile": profile.name, "costs": costs, **projections(costs, profile)}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "costs.json", result)
    return result


def projections(costs: dict[str, dict], profile: ProfileB) -> dict[str, dict]:
    """The profile's projected CPU seconds per data set, and the alternatives' (ALTERNATIVES)."""
    sized = {
        f"{seeds} seeds, {episodes} novel episodes": replace(
            profile, base=replace(profile.base, seeds=tuple(range(seeds))), novel_episodes=episodes
        )
        for seeds, episodes in ALTERNATIVES
    }
    return {
        "projection": {d: projection_b(c, profile) for d, c in costs.items()},
        "alternatives": {name: {d: projection_b(c, p) for d, c in costs.items()} for name, p in sized.items()},
    }


def check_rest(choices: dict[str, dict], profile: ProfileB) -> None:
    """Regime B takes regime A's rest choice for narrow: when regime A's committed run of the same
    profile names one, the recomputed choice must be the same (SystemExit otherwise)."""
    if not REGIME_A_RUN.exists():
        return
    a = json.loads(REGIME_A_RUN.read_text())
    if a.get("profile") != profile.name:
        return
    for data, chosen in choices.items():
        committed = a.get("choices", {}).get(data, {}).get("narrow")
        if committed is not None and committed != chosen["rest"]:
            raise SystemExit(f"{data}: narrow's rest {chosen['rest']!r} differs from regime A's {committed!r}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    profile = PROFILES_B[args.profile]
    work = str(Path(args.work, profile.name))
    studies = {d: Study(d, profile.base.overrides, work) for d in args.data_sets}
    out = Path(args.out)
    if args.measure:
        print(json.dumps(measure(studies, profile, out, args.workers)["projection"], indent=1))
        return 0
    started = time.time()
    regime = run(studies, profile, args.workers, args.novel)
    check_rest(regime.choices, profile)
    out.mkdir(parents=True, exist_ok=True)
    for table, rows in regime.rows.items():
        if rows:
            write_episodes(str(out / f"{table}.parquet"), rows)
    cpu = {
        f"{u.parent.parent.name}/{u.stem}": json.loads(u.read_text()).get("cpu_seconds")
        for u in sorted(Path(work).glob("*/units/*.json"))
    }
    write_json(
        out / "run.json",
        {
            "command": shlex.join(["python", "benchmarks/regime_b.py", *(sys.argv[1:] if argv is None else argv)]),
            "profile": profile.name,
            "data": args.data_sets,
            "choices": regime.choices,
            "compute": regime.compute,
            "wall_seconds": time.time() - started,
            "unit_cpu_seconds": cpu,
            "tables": [t for t in (REGIME_B.select, REGIME_B.report) if (out / f"{t}.parquet").exists()],
        },
    )
    print(write_tables(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
