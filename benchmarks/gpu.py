"""GPU benchmark: what a member's device share does, per configuration (precision x members per
device x members per actor): images per second per device, utilization, memory, seconds per
generation. On a machine without CUDA it runs the same code paths on the CPU.

    python benchmarks/gpu.py [--shape quickstart|cifar_fs] [--quick | --tiny] [--compile]
        [--set key=value ...] [--out benchmarks/results/gpu.json]
    python benchmarks/gpu.py --device-check [--dry-run] [--out DIR/gpu.json]

`--device-check` is the one prepared run for a lent GPU machine (one GPU, <= 8 minutes: rounds
and Ray runs stop at `budget_s`): the packs table (precision x K x sequential / vectorized) and
the population table (precision x members per GPU x pack) below, nothing else; `--dry-run` runs
its every code path on the CPU with the tiny shape (`make bench-smoke`).

Three measurements (keys of the JSON):
- `lifetimes`: one process lives members back to back (`evolution.lifetime.live`: lifetime plus
  fitness) on the device, per precision x data placement x layout (x compile with --compile),
  the rows taking turns one lifetime each (a shared machine's load drifts alike over all rows).
  `images_per_s` = sample-gradients (lifetime + fitness) per second over lifetimes 1.. (the first
  pays for warm-up and compilation); `peak_memory_bytes` from torch.cuda; `utilization` the mean
  GPU busy fraction sampled by NVML (pynvml or nvidia-smi) while the row ran. The row
  `placement=host, fp32, contiguous` is the path before device-resident data (batches gathered,
  normalized and augmented on the host, then copied): `vs_host_fp32` compares with it.
- `packs`: one process lives packs of K members, sequential vs vectorized, per precision x K
  (`benchmarks/packs.py`): images per second, seconds per pack, utilization, peak memory.
- `population`: `evolve` on a local Ray, per precision x members per device M x members per actor
  K x `population.pack`: `seconds_per_generation` (generations 1..), `images_per_s_per_device`,
  utilization (NVML), the members' peak torch.cuda memory. On GPUs gpus_per_member = 1/M and P =
  M x GPUs; on the CPU the machine is one device and M = P members of 1 CPU share it.

Data: procedural images of the shape's size (synthetic, offline): `quickstart` is
configs/quickstart.yaml, `cifar_fs` configs/cifar_fs_vgg11.yaml with 600 procedural images per
class in place of CIFAR-100 (same counts and size).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import ray  # noqa: E402
import torch  # noqa: E402

from gtl_ray import report  # noqa: E402
from gtl_ray.compute import available_device, compute_for, resident  # noqa: E402
from gtl_ray.config import GTLConfig  # noqa: E402
from gtl_ray.data import load_splits  # noqa: E402
from gtl_ray.evolution.lifetime import live  # noqa: E402
from gtl_ray.preflight import load_config  # noqa: E402
from gtl_ray.service.pool import NAMESPACE  # noqa: E402
from packs import pack_rows, render_pack_rows  # noqa: E402
from systems import mean_after_first, run_gtl, write_outputs  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "gpu.json"
SHAPES = {
    "quickstart": ("configs/quickstart.yaml", ()),
    "cifar_fs": (
        "configs/cifar_fs_vgg11.yaml",
        (
            "data.format=procedural",
            "data.path=null",
            "data.num_classes=100",
            "data.images_per_class=600",
            "data.splits={base: 64, val: 16, novel: 20}",
        ),
    ),
}
TINY_SHAPE = (
    "model.width=0.125",
    "lifetime.epochs=1",
    "lifetime.train_per_class=10",
    "lifetime.query_per_class=5",
    "data.num_classes=40",
    "data.images_per_class=20",
    "data.splits={base: 20, val: 5, novel: 10}",
    "evaluation.shots=[1]",
    "evaluation.query=5",
    "evolution.tournament_size=2",
    "evolution.elites=1",
)


@dataclass(frozen=True)
class Profile:
    name: str
    lifetimes: int = 4  #: lifetimes per row (the first is warm-up); 0: no lone-lifetime grid
    precisions: tuple[str, ...] = ("fp32", "bf16")
    layouts: tuple[bool, ...] = (False, True)  #: channels_last
    pack_sizes: tuple[int, ...] = (1, 2, 4, 8)  #: K of the packs table
    pack_precisions: tuple[str, ...] = ("fp32",)
    pack_rounds: int = 4  #: turns of the packs table (the first is warm-up)
    members_per_device: tuple[int, ...] = (1, 2, 4)  #: GPUs only; the CPU is one device shared by P members
    cpu_population: int = 4
    generations: int = 4
    population_precisions: tuple[str, ...] = ("fp32", "bf16")
    population_packs: tuple[str, ...] = ("sequential", "vectorized")  #: population.pack of packed rows
    one_per_device_only: bool = False  #: population rows: K = 1 (sequential) and K = M only
    shape_overrides: tuple[str, ...] = ()
    population_overrides: tuple[str, ...] = ()
    budget_s: float | None = None  #: past this, no new pack round (after two) and no new Ray run


TINY_PACKS = dict(pack_sizes=(1, 2), pack_rounds=2, members_per_device=(2,), cpu_population=2, generations=2)
DEVICE_CHECK = dict(
    lifetimes=0,
    pack_sizes=(1, 2, 4, 8, 16),
    pack_precisions=("fp32", "bf16", "fp16"),
    pack_rounds=8,
    members_per_device=(4, 8),
    generations=3,
    one_per_device_only=True,
    population_overrides=("evolution.init=random",),  # no pre-training per run: generations are measured
)
PROFILES = {
    "full": Profile("full", lifetimes=6, precisions=("fp32", "bf16", "fp16"), generations=6),
    "quick": Profile(
        "quick",
        lifetimes=3,
        pack_rounds=5,
        generations=3,
        population_precisions=("fp32",),
        shape_overrides=("data.images_per_class=60",),
    ),
    "tiny": Profile(
        "tiny",
        lifetimes=2,
        precisions=("fp32",),
        layouts=(False,),
        population_precisions=("fp32",),
        shape_overrides=TINY_SHAPE,
        **TINY_PACKS,
    ),
    "device": Profile("device", budget_s=420.0, **DEVICE_CHECK),
    "device-dry": Profile(
        "device-dry",
        **{**DEVICE_CHECK, **TINY_PACKS, "pack_precisions": ("fp32",), "population_precisions": ("fp32",)},
        population_packs=("vectorized",),
        shape_overrides=TINY_SHAPE,
        budget_s=120.0,
    ),
}


class Utilization:
    """Mean GPU busy fraction and peak used memory per device, sampled every `every_s` seconds
    from NVML (pynvml, else nvidia-smi) while the block runs; None where neither is there."""

    def __init__(self, every_s: float = 0.2):
        self.every_s, self.samples, self.stop = every_s, [], threading.Event()
        self.read = self._reader() if torch.cuda.is_available() else None

    @staticmethod
    def _reader():
        try:
            import pynvml

            pynvml.nvmlInit()
            handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
            return lambda: [
                (pynvml.nvmlDeviceGetUtilizationRates(h).gpu / 100, pynvml.nvmlDeviceGetMemoryInfo(h).used)
                for h in handles
            ]
        except Exception:  # no pynvml or no driver library: try the command line
            if shutil.which("nvidia-smi") is None:
                return None
            query = ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"]
            return lambda: [
                (float(u) / 100, float(m) * 2**20)
                for u, m in (
                    line.split(",")
                    for line in subprocess.run(query, capture_output=True, text=True, timeout=5)
                    .stdout.strip()
                    .splitlines()
                )
            ]

    def __enter__(self) -> "Utilization":
        """May be entered again: the samples of every block add up."""
        self.stop.clear()
        if self.read is not None:
            self.thread = threading.Thread(target=self._poll, daemon=True)
            self.thread.start()
        return self

    def _poll(self) -> None:
        while not self.stop.wait(self.every_s):
            self.samples.append(self.read())

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        if self.read is not None:
            self.thread.join()

    def summary(self) -> dict[str, Any]:
        if not self.samples:
            return {"utilization": None, "nvml_memory_used_bytes": None}
        per_device = list(zip(*self.samples))
        return {
            "utilization": [statistics.fmean(u for u, _ in d) for d in per_device],
            "nvml_memory_used_bytes": [max(m for _, m in d) for d in per_device],
        }


def lifetime_rows(configure, profile: Profile, device: str, compile_too: bool) -> list[dict[str, Any]]:
    """Members lived back to back in this process, per precision x placement x layout. The rows
    take turns, one lifetime each, so that a machine's changing load falls on all of them alike."""
    base_host = load_splits(configure().data).base
    grid = [("fp32", False, False, False)] + [
        (p, True, cl, False) for p in profile.precisions for cl in profile.layouts
    ]
    grid += [(p, True, True, True) for p in profile.precisions] if compile_too else []
    rows = []
    for precision, on_device, channels_last, compiled in grid:
        if precision == "fp16" and device == "cpu":
            continue
        config = configure(
            f"population.precision={precision}",
            f"population.data_on_device={str(on_device).lower()}",
            f"population.channels_last={str(channels_last).lower()}",
            f"population.compile={str(compiled).lower()}",
        )
        row = {
            "precision": precision,
            "placement": "device" if on_device else "host",
            "channels_last": channels_last,
            "compile": compiled,
        }
        rows.append((row, config, resident(base_host, config, compute_for(config, device)), Utilization(), [], []))
    for member in range(profile.lifetimes):
        for row, config, base, sampler, seconds, images in rows:
            if device == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            with sampler:
                start = time.perf_counter()
                outcome = live(config, base, 1, member, None, device)
                seconds.append(time.perf_counter() - start)
            images.append(outcome.lifetime_sample_grads + outcome.fitness_sample_grads)
            row["peak_memory_bytes"] = (
                max(row.get("peak_memory_bytes") or 0, torch.cuda.max_memory_allocated()) if device == "cuda" else None
            )
    for row, _, _, sampler, seconds, images in rows:
        row.update(
            {
                "images_per_s": sum(images[1:]) / sum(seconds[1:]),
                "first_lifetime_s": seconds[0],
                "lifetime_s": statistics.fmean(seconds[1:]),
                **sampler.summary(),
            }
        )
    today = rows[0][0]["images_per_s"]  # host placement, fp32
    for row, *_ in rows:
        row["vs_host_fp32"] = row["images_per_s"] / today
    return [row for row, *_ in rows]


def population_runs(profile: Profile, gpus: int) -> list[tuple[str, int, int, str]]:
    """(precision, members per device M, members per actor K, pack) of the population rows, in
    the order they run: K = 1 (each member an actor of its own: the path before packs), then the
    packed rows, sequential and vectorized."""
    runs = []
    for per_device in profile.members_per_device if gpus else (profile.cpu_population,):
        size = per_device * max(gpus, 1)
        packed = {per_device} if profile.one_per_device_only else {2, per_device}
        for precision in profile.population_precisions:
            runs.append((precision, per_device, 1, "sequential"))
            for per_actor in sorted(k for k in packed if k > 1 and size % k == 0):
                runs += [(precision, per_device, per_actor, pack) for pack in profile.population_packs]
    return runs


def population_rows(configure, profile: Profile, device: str, deadline: float | None = None) -> list[dict[str, Any]]:
    """`evolve` on the local Ray, per precision x members per device x members per actor x pack;
    runs not started by `deadline` (time.monotonic()) are listed as skipped."""
    gpus = torch.cuda.device_count() if device == "cuda" else 0
    rows = []
    for precision, per_device, per_actor, pack in population_runs(profile, gpus):
        row = {
            "precision": precision,
            "members_per_device": per_device,
            "members_per_actor": per_actor,
            "pack": pack,
            "population": per_device * max(gpus, 1),
            "devices": max(gpus, 1),
        }
        if deadline is not None and rows and time.monotonic() > deadline:
            rows.append({**row, "skipped": "past the time budget"})
            continue
        share = f"population.gpus_per_member={1 / per_device:g}" if gpus else "population.gpus_per_member=0"
        config = configure(
            share,
            "population.cpus_per_member=1",
            f"population.size={row['population']}",
            f"population.members_per_actor={per_actor}",
            f"population.pack={pack}",
            f"population.precision={precision}",
            f"evolution.generations={profile.generations}",
            f"name=pop-{precision}-m{per_device}-k{per_actor}-{pack}",
            *profile.population_overrides,
        )
        with Utilization() as sampler:
            manifest, wall, _ = run_gtl(config)
        rows.append({**row, **population_figures(config, manifest, gpus), "wall_s": wall, **sampler.summary()})
    return rows


def population_figures(config: GTLConfig, manifest: dict[str, Any], gpus: int) -> dict[str, Any]:
    """A run's seconds per generation and images per second per device (generations 1..), and
    what its members reported: peak device memory and where they computed."""
    later = manifest["generations"][1:] or manifest["generations"]
    images = sum(g["sample_grads"]["lifetime"] + g["sample_grads"]["fitness"] for g in later)
    results = [
        json.loads(line)
        for f in Path(config.storage, config.name).glob("tune-from-*/*/result.json")
        for line in f.read_text().splitlines()
        if line.strip()
    ]
    return {
        "seconds_per_generation": mean_after_first([g["timing"]["wall"] for g in manifest["generations"]]),
        "images_per_s_per_device": images / sum(g["timing"]["wall"] for g in later) / max(gpus, 1),
        "member_peak_memory_bytes": max((r.get("device_memory_peak_bytes", 0) for r in results), default=0) or None,
        "devices_seen": sorted({r["device"] for r in results}),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", choices=sorted(SHAPES), default="quickstart")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override (repeatable; wins over the shape and profile)",
    )
    p.add_argument(
        "--device-check", action="store_true", help="the prepared GPU check: packs and population tables, <= 8 min"
    )
    p.add_argument("--dry-run", action="store_true", help="with --device-check: every code path on the CPU, tiny")
    p.add_argument("--quick", action="store_true", help="a few minutes on 2 CPU cores")
    p.add_argument("--tiny", action="store_true", help="smoke test of every measurement")
    p.add_argument(
        "--compile",
        action="store_true",
        help="also rows with population.compile=true (minutes of compilation per row on a CPU)",
    )
    p.add_argument("--skip", default="", help="comma-separated measurements to leave out: lifetimes, packs, population")
    p.add_argument("--pack-rounds", type=int, help="rounds of the packs table (default: the profile's)")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    return p.parse_args(argv)


def choose_profile(args: argparse.Namespace, device: str) -> Profile:
    if args.dry_run and not args.device_check:
        raise SystemExit("gpu.py: --dry-run goes with --device-check")
    if args.device_check and not args.dry_run and device != "cuda":
        raise SystemExit("gpu.py: --device-check needs a CUDA device (torch sees none); use --dry-run on a CPU")
    if args.device_check:
        return PROFILES["device-dry" if args.dry_run else "device"]
    return PROFILES["tiny" if args.tiny else "quick" if args.quick else "full"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, workdir, device = time.time(), tempfile.mkdtemp(prefix="gtl-gpu-"), available_device()
    profile = choose_profile(args, device)
    if args.pack_rounds:
        profile = dataclasses.replace(profile, pack_rounds=args.pack_rounds)
    path, shape = SHAPES[args.shape]
    clock0 = time.monotonic()
    deadline = (lambda share: clock0 + share * profile.budget_s) if profile.budget_s else (lambda share: None)

    def configure(*extra: str) -> GTLConfig:
        return load_config(
            ROOT / path, [*shape, *profile.shape_overrides, f"storage={workdir}", "name=gpu", *extra, *args.set]
        )

    out: dict[str, Any] = {
        "benchmark": "gpu",
        "profile": profile.name,
        "profile_settings": asdict(profile),
        "shape": args.shape,
        "device": device,
    }
    out["command"] = shlex.join(["python", "benchmarks/gpu.py"] + list(sys.argv[1:] if argv is None else argv))
    out["machine"], out["code"] = report.machine_description(), report.code_version(ROOT)
    torch.set_num_threads(1)  # as a member of 1 CPU
    timings, skip = {}, set(filter(None, args.skip.split(",")))
    try:
        if profile.lifetimes and "lifetimes" not in skip:
            clock = time.time()
            out["lifetimes"] = lifetime_rows(configure, profile, device, args.compile)
            timings["lifetimes"] = time.time() - clock
        clock = time.time()
        out["packs"] = (
            []
            if "packs" in skip
            else pack_rows(
                configure,
                device,
                profile.pack_sizes,
                profile.pack_precisions,
                profile.pack_rounds,
                lambda: Utilization(every_s=0.05),
                deadline(0.35),
            )
        )
        timings["packs"] = time.time() - clock
        clock = time.time()
        if "population" in skip:
            out["population"] = []
            return _finish(args, out, timings, started)
        ray.init(
            address="local",
            num_cpus=max(profile.cpu_population, *profile.members_per_device, os.cpu_count() or 1)
            * max(torch.cuda.device_count(), 1),
            include_dashboard=False,
            namespace=NAMESPACE,
            log_to_driver=False,
        )
        out["population"] = population_rows(configure, profile, device, deadline(1.0))
        timings["population"] = time.time() - clock
    finally:
        ray.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)
    return _finish(args, out, timings, started)


def _finish(args: argparse.Namespace, out: dict[str, Any], timings: dict[str, float], started: float) -> int:
    """Write the JSON and the page, print the page (and, for the device check, what to paste)."""
    print(write_outputs(Path(args.out), out, timings, started, render_markdown))
    if args.device_check:
        md = Path(args.out).with_suffix(".md")
        print(f"Paste: copy {args.out} and {md} into benchmarks/results/ as gpu.json and gpu.md.")
    return 0


def render_markdown(out: dict[str, Any]) -> str:
    m = out["machine"]
    lines = [
        f"# GPU benchmark ({out['profile']}, {out['shape']} shape, device: {out['device']})",
        f"`{out['command']}` — {out['wall_seconds']:.0f} s wall on {m['cpu_count']} CPU cores ({m['cpu_model']}, load average {m['load_average_1min']:.1f} at start, {m['load_average_1min_at_end']:.1f} at end), GPUs: {', '.join(m['gpus']) or 'none'}; Python {m['python']}, torch {m['torch']}, Ray {m['ray']}.",
    ]
    if out["device"] == "cpu":
        lines.append(
            "**No GPU was measured:** this machine has no CUDA device, so every row ran the same code paths on "
            "the CPU (one torch thread per member). The figures show that the paths run and what they cost on a "
            "CPU; they say nothing about GPU utilization or the GPU speed-up. The GPU table is not measured yet: "
            "run `python benchmarks/gpu.py --device-check` on a CUDA machine (and `--shape cifar_fs` for the full"
            " grid). On a CPU the host and device placements are the same tensors, so their rows differ only by "
            "the machine's load."
        )
    if "lifetimes" in out:
        lines += [
            "## Lifetimes in one process (lifetime + fitness, lifetimes 1..)",
            render_lifetime_rows(out["lifetimes"]),
        ]
    lines += [
        "## Packs in one process: K members of a generation, sequential vs vectorized (rounds 1..)",
        render_pack_rows(out["packs"]),
        "## Populations on Ray (generations 1..)",
        render_population_rows(out["population"]),
        "Timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in out["timings"].items()),
        report.describe_code(out["code"]),
    ]
    return "\n\n".join(lines) + "\n"


def _gib(value: float | None) -> str:
    return "" if value is None else f"{value / 2**30:.2f}"


def _util(value: list[float] | None) -> str:
    return "n/a" if value is None else ", ".join(f"{x:.0%}" for x in value)


def render_lifetime_rows(rows: list[dict[str, Any]]) -> str:
    head = ["precision", "data", "channels_last", "compile", "images/s", "vs host fp32", "s per lifetime"]
    head += ["first lifetime s", "peak memory GiB", "utilization"]
    return report.markdown_table(
        head,
        [
            [
                r["precision"],
                r["placement"],
                r["channels_last"],
                r["compile"],
                f"{r['images_per_s']:.0f}",
                f"{r['vs_host_fp32']:.2f}",
                f"{r['lifetime_s']:.2f}",
                f"{r['first_lifetime_s']:.2f}",
                _gib(r["peak_memory_bytes"]),
                _util(r["utilization"]),
            ]
            for r in rows
        ],
    )


def render_population_rows(rows: list[dict[str, Any]]) -> str:
    """With `vs K=1`: images/s per device over the row of one actor per member (the path before
    packs) at the same precision and members per device."""
    head = ["precision", "members per device", "members per actor", "pack", "P", "devices", "s per generation"]
    head += ["images/s per device", "vs K=1", "member peak memory GiB", "utilization"]
    body = []
    for r in rows:
        key = (r["precision"], r["members_per_device"])
        if "skipped" in r:
            body.append(
                [*key, r["members_per_actor"], r["pack"], r["population"], r["devices"], r["skipped"]] + [""] * 4
            )
            continue
        alone = [x for x in rows if (x["precision"], x["members_per_device"], x["members_per_actor"]) == (*key, 1)]
        ratio = (
            r["images_per_s_per_device"] / alone[0]["images_per_s_per_device"]
            if alone and "skipped" not in alone[0]
            else None
        )
        body.append(
            [
                *key,
                r["members_per_actor"],
                r["pack"],
                r["population"],
                r["devices"],
                f"{r['seconds_per_generation']:.2f}",
                f"{r['images_per_s_per_device']:.0f}",
                "" if ratio is None else f"{ratio:.2f}",
                _gib(r["member_peak_memory_bytes"]),
                _util(r["utilization"]),
            ]
        )
    return report.markdown_table(head, body)


if __name__ == "__main__":
    sys.exit(main())
