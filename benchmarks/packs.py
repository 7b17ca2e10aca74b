"""What a vectorized pack gains: one process lives a pack of K members of one generation
(`evolution.lifetime.live_together`: lifetimes and fitness), sequential vs vectorized, per
precision x K, on the device (`benchmarks/gpu.py` runs it; `--device-check` on a GPU).

The rows take turns, one pack each per round, so that a shared machine's changing load falls on
all of them alike; round 0 is warm-up (allocation, cuDNN's algorithm search) and is not counted.
Members carry an inherited gene (as from generation 1), so with the shipped configs' zero rest
they learn as the gene's narrow network, the network a vectorized pack stacks.

Per row: `images_per_s` = sample-gradients (lifetime + fitness) per second over rounds 1..;
`seconds_per_pack` = the mean time the pack took (one generation of its K members);
`vs_sequential` = images/s over the sequential row of the same precision and K in the default
(contiguous) layout, today's path; `vs_same_layout` over the sequential row in the layout the
pack computes in (channels-last for a vectorized pack on CPU);
`utilization` = NVML's busy fraction while the row ran (None on CPU), `peak_memory_bytes` the
torch.cuda peak over the row's packs.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch

from gtl_ray import report
from gtl_ray.compute import compute_for, resident
from gtl_ray.config import GTLConfig
from gtl_ray.data import load_splits
from gtl_ray.evolution.lifetime import live_together, newborn
from gtl_ray.learngene import extract_learngene

#: (pack, channels_last) variants of every precision x K, per device: the default sequential
#: path, the same in channels-last layout, and the vectorized pack (on CPU always channels-last)
VARIANTS = {
    "cpu": (("sequential", False), ("sequential", True), ("vectorized", False)),
    "cuda": (("sequential", False), ("sequential", True), ("vectorized", False), ("vectorized", True)),
}


def pack_rows(
    configure: Callable[..., GTLConfig],
    device: str,
    sizes: tuple[int, ...],
    precisions: tuple[str, ...],
    rounds: int,
    sampler: Callable[[], Any],
    deadline: float | None = None,
) -> list[dict[str, Any]]:
    """Packs of each size in `sizes` x precision x `VARIANTS`, `rounds` rounds of turns (the
    first is warm-up); rounds stop early past `deadline` (time.monotonic()), keeping two at least."""
    config = configure()
    host = load_splits(config.data).base
    gene = extract_learngene(newborn(config, 0, 10_000), config.learngene.share)
    rows = []
    for precision in precisions:
        if precision == "fp16" and device == "cpu":
            continue
        for k in sizes:
            for pack, channels_last in VARIANTS[device]:
                row_config = configure(
                    f"population.precision={precision}", f"population.channels_last={str(channels_last).lower()}"
                )
                base = resident(host, row_config, compute_for(row_config, device))
                row = {
                    "device": device,
                    "precision": precision,
                    "members": k,
                    "pack": pack,
                    "channels_last": channels_last,
                }
                rows.append((row, row_config, base, sampler(), [], []))
    for turn in range(rounds):
        if deadline is not None and turn >= 2 and time.monotonic() > deadline:
            break
        for row, row_config, base, utilization, seconds, images in rows:
            _live_pack(row, row_config, base, gene, device, utilization, seconds, images)
    return _summarize(rows)


def _live_pack(row, config, base, gene, device, utilization, seconds, images) -> None:
    members = list(range(row["members"]))
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    with utilization:
        start = time.perf_counter()
        outcomes = live_together(
            config, base, 1, members, [gene] * len(members), device, vectorized=row["pack"] == "vectorized"
        )
        if device == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    images.append(sum(o.lifetime_sample_grads + o.fitness_sample_grads for o in outcomes))
    if device == "cuda":
        row["peak_memory_bytes"] = max(row.get("peak_memory_bytes") or 0, torch.cuda.max_memory_allocated())


def _summarize(rows) -> list[dict[str, Any]]:
    out = []
    for row, _, _, utilization, seconds, images in rows:
        counted = slice(1, None) if len(seconds) > 1 else slice(None)
        row.update(
            {
                "rounds": len(seconds),
                "images_per_s": sum(images[counted]) / sum(seconds[counted]),
                "seconds_per_pack": statistics.fmean(seconds[counted]),
                "first_pack_s": seconds[0],
                "peak_memory_bytes": row.get("peak_memory_bytes"),
                **utilization.summary(),
            }
        )
        out.append(row)
    for row in out:
        layout = row["channels_last"] or (row["pack"] == "vectorized" and row.get("device") == "cpu")
        row["vs_sequential"] = _ratio(row, out, channels_last=False)
        row["vs_same_layout"] = _ratio(row, out, channels_last=layout)
    return out


def _ratio(row: dict[str, Any], rows: list[dict[str, Any]], channels_last: bool) -> float | None:
    """images/s of `row` over the sequential row of its precision and K in the given layout."""
    key = (row["precision"], row["members"], "sequential", channels_last)
    same = [r for r in rows if (r["precision"], r["members"], r["pack"], r["channels_last"]) == key]
    return row["images_per_s"] / same[0]["images_per_s"] if same else None


def render_pack_rows(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""

    def util(u: list[float] | None) -> str:
        return "n/a" if u is None else ", ".join(f"{x:.0%}" for x in u)

    return report.markdown_table(
        [
            "precision",
            "K",
            "pack",
            "channels_last",
            "images/s",
            "vs sequential",
            "vs same layout",
            "s per pack",
            "first pack s",
            "rounds",
            "peak memory GiB",
            "utilization",
        ],
        [
            [
                r["precision"],
                r["members"],
                r["pack"],
                r["channels_last"],
                f"{r['images_per_s']:.0f}",
                "" if r["vs_sequential"] is None else f"{r['vs_sequential']:.2f}",
                "" if r["vs_same_layout"] is None else f"{r['vs_same_layout']:.2f}",
                f"{r['seconds_per_pack']:.3f}",
                f"{r['first_pack_s']:.3f}",
                r["rounds"],
                "" if r["peak_memory_bytes"] is None else f"{r['peak_memory_bytes'] / 2**30:.2f}",
                util(r["utilization"]),
            ]
            for r in rows
        ],
    )
