"""The benchmarks' `--quick --tiny` paths end to end. Each runs in its own process because it
starts (and stops) its own local Ray; the test checks the JSON's keys and types, not numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROW_KEYS = {
    "method": str,
    "n_way": int,
    "shots": int,
    "mean": float,
    "ci95": float,
    "episodes": int,
    "instinct_mean": float,
    "instinct_ci95": float,
}
MACHINE_KEYS = {"cpu_count", "cpu_model", "device", "python", "torch", "ray"}


def run_benchmark(script: str, tmp_path: Path, *extra: str, title: str | None = None) -> tuple[dict, Path]:
    out = tmp_path / "results" / f"{script}.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--quick", "--tiny", "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.startswith(f"# {title or script.capitalize()} benchmark")  # the Markdown page is printed
    return json.loads(out.read_text()), out


def check_rows(rows: list[dict], methods: set[str], **extra: type) -> None:
    assert rows and {r["method"] for r in rows} == methods
    for row in rows:
        for key, kind in {**ROW_KEYS, **extra}.items():
            assert isinstance(row[key], kind) or (kind is float and isinstance(row[key], int)), (key, row)
        assert 0.0 <= row["mean"] <= 1.0 and 0.0 <= row["instinct_mean"] <= 1.0


@pytest.mark.slow
def test_efficacy_tiny(tmp_path):
    """In process (--local): the Ray path of evolve is the service tests' (five evolutions on Ray
    here cost minutes of actor start-ups and test nothing of the benchmark's own)."""
    data, out = run_benchmark("efficacy", tmp_path, "--storage", str(tmp_path / "runs"), "--local")
    from gtl_ray.evaluation import list_methods

    check_rows(data["results"], set(list_methods()), transferred_share=float, preparation_sample_grads=int)
    assert {(p["versus"], p["shots"]) for p in data["paired"]} == {(m, 1) for m in list_methods() if m != "learngene"}
    assert (
        "learngene - sparse" in out.with_suffix(".md").read_text()
        and "fine-tuned densely" in out.with_suffix(".md").read_text()
    )
    check_rows(data["scalability"], {"scratch", "learngene"}, variant=str)
    assert len({r["variant"] for r in data["scalability"]}) == 3
    check_rows(data["shares"], {"scratch", "heuristic", "learngene"}, share=float, gene_share=float)
    assert len(data["curve"]) == 2 and all({"min", "median", "max"} <= set(c) for c in data["curve"])
    assert MACHINE_KEYS <= set(data["machine"]) and isinstance(data["command"], str)
    assert isinstance(data["wall_seconds"], float) and data["timings"]["total"] > 0
    assert out.with_suffix(".md").read_text().startswith("# Efficacy benchmark")
    for name in data["plots"].values():
        assert (out.parent / name).read_bytes().startswith(b"\x89PNG")


@pytest.mark.bench
def test_systems_tiny(tmp_path):
    data, out = run_benchmark("systems", tmp_path)
    sweep = data["profile_settings"]["sweep"]
    assert set(data["overhead_share"]) == {str(p) for p in sweep}
    assert all(0.0 <= v <= 1.0 for v in data["overhead_share"].values())
    for split in data["generation_split"].values():
        assert {
            "wall_s",
            "lifetime_max_s",
            "selection_s",
            "object_store_s",
            "other_scheduling_s",
            "checkpoint_background_s",
        } <= set(split)
    for key in (
        "ray_vs_local_time_ratio",
        "handoff_bytes_ratio_vs_pbt",
        "handoff_time_ratio_vs_pbt",
        "checkpoint_bytes_ratio",
    ):
        assert isinstance(data[key], float) and data[key] > 0, key
    assert data["pbt"]["exploits"] >= 1 and data["pbt"]["full_state_bytes"] > data["gtl_handoff"]["gene_bytes"]
    assert (
        len(data["object_store_bytes"])
        == len(data["object_store_generations"])
        >= data["profile_settings"]["store_generations"] // 2
    )
    assert all(isinstance(b, int) and b > 0 for b in data["object_store_bytes"])
    tell_post, settings = data["tell_post"], data["profile_settings"]
    assert set(tell_post["in_process"]) == {str(p) for p in settings["tell_populations"]}
    assert set(tell_post["through_pool"]) == {str(settings["tell_pool_population"])}
    for row in [*tell_post["in_process"].values(), *tell_post["through_pool"].values()]:
        assert row["tell_s"] > 0 and row["post_s"] > 0 and len(row["all"]["tell_s"]) == settings["tell_generations"]
        assert row["beside_s"] >= 0  # reptile moves (in process), puts at arrival (through the pool)
    for key in ("ray_vs_local", "ray_vs_local_tiny"):  # the config's lifetimes, and the sweep's
        figures = data[key]
        assert figures["generation_ratio"] > 0 and figures["lifetime_steps"] >= 1 and figures["ray_lifetime_max_s"] > 0
    assert data["gpu"]["skipped"] is True and data["gpu"]["reason"]
    assert data["startup"]["ray_start_s"] > 0 and set(data["startup"]["runs"]) == {str(p) for p in sweep}
    for figures in data["startup"]["runs"].values():
        assert figures["placement_s"] > 0 and figures["first_generation_s"] > 0 and figures["initial_gene_s"] >= 0
    assert "## Start-up (s)" in out.with_suffix(".md").read_text()
    cost = data["fitness_cost"]
    assert (
        cost["lifetime_s"] > 0
        and cost["descendant_fitness_s"] > 0
        and cost["descendant_extra_share"] > cost["instinct_extra_share"] > 0
    )
    assert MACHINE_KEYS <= set(data["machine"]) and out.with_suffix(".md").exists()


@pytest.mark.bench
def test_gpu_tiny(tmp_path):
    """On a machine without CUDA every row runs on the CPU, and the page says no GPU was measured."""
    data, out = run_benchmark("gpu", tmp_path, title="GPU")
    assert data["device"] in ("cpu", "cuda") and MACHINE_KEYS <= set(data["machine"])
    assert {(r["placement"], r["precision"]) for r in data["lifetimes"]} >= {("host", "fp32"), ("device", "fp32")}
    for row in data["lifetimes"]:
        assert row["images_per_s"] > 0 and row["lifetime_s"] > 0 and row["vs_host_fp32"] > 0
    assert [(r["members_per_actor"], r["pack"]) for r in data["population"]] == [
        (1, "sequential"),
        (2, "sequential"),
        (2, "vectorized"),
    ]
    check_packs_and_population(data)
    if data["device"] == "cpu":
        assert all(r["utilization"] is None for r in data["lifetimes"] + data["population"])
        assert "No GPU was measured" in out.with_suffix(".md").read_text()


def check_packs_and_population(data: dict) -> None:
    """Every pack row measured (K x sequential / vectorized) and every population row run."""
    packs = {(r["members"], r["pack"], r["channels_last"]): r for r in data["packs"]}
    assert {(k, "vectorized", False) for k in data["profile_settings"]["pack_sizes"]} <= set(packs)
    for row in packs.values():
        assert row["images_per_s"] > 0 and row["seconds_per_pack"] > 0 and row["rounds"] >= 2
        assert row["vs_sequential"] > 0 and row["vs_same_layout"] > 0
    for row in data["population"]:
        assert (
            row["seconds_per_generation"] > 0
            and row["images_per_s_per_device"] > 0
            and row["devices_seen"] == [data["device"]]
        )


@pytest.mark.bench
def test_gpu_device_check_dry_run(tmp_path):
    """`--device-check --dry-run`: the GPU check's every code path (packs of 1 and 2 members,
    sequential and vectorized; population rows of one actor per member and a vectorized pack per
    device) on the CPU with the tiny shape."""
    data, out = run_benchmark("gpu", tmp_path, "--device-check", "--dry-run", title="GPU")
    assert data["profile"] == "device-dry" and "lifetimes" not in data
    assert [(r["members_per_actor"], r["pack"]) for r in data["population"]] == [(1, "sequential"), (2, "vectorized")]
    check_packs_and_population(data)
    page = out.with_suffix(".md").read_text()
    assert "## Packs in one process" in page and "## Populations on Ray" in page


def run_regime(script: str, tmp_path: Path) -> Path:
    """Every stage of benchmarks/`script`.py, novel table included, at the tiny profile on the
    offline data set, in its own process; the folder of its tables."""
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--profile", "tiny", "--data", "offline"]
    proc = subprocess.run(
        [*command, "--novel", "--work", str(tmp_path / "work"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return out


@pytest.mark.bench
def test_regime_a_tiny_and_its_tables_recomputed_from_parquet(tmp_path):
    """Every stage of regime A on a tiny procedural data set (val choices, evolution, every arm at
    every size on novel classes), then the tables recomputed from the Parquet files alone."""
    out = run_regime("regime_a", tmp_path)
    from benchmarks.recompute import write_tables
    from benchmarks.regimes.protocol import ARMS, SIZES
    from gtl_ray.evaluation.episode_file import read_episodes

    first = (out / "regime_a.md").read_text()
    novel = read_episodes(str(out / "A-novel.parquet"))
    assert set(novel.column("method").to_pylist()) == set(ARMS)
    assert set(novel.column("size").to_pylist()) == {s.name for s in SIZES}
    assert set(novel.column("stream").to_pylist()) == {"episode"}
    assert set(read_episodes(str(out / "A-select.parquet")).column("stream").to_pylist()) == {"selection"}
    assert write_tables(out) == first and "Decision (offline" in first
    run = json.loads((out / "run.json").read_text())
    assert set(run["choices"]["offline"]) == {"narrow", "narrow-eq", "learngene"} and run["budgets"]["offline"]["B"] > 0


@pytest.mark.bench
def test_regime_b_tiny_and_its_tables_recomputed_from_parquet(tmp_path):
    """Every stage of regime B on a tiny procedural data set (regime A's narrow rest choice, the
    evolutions with recipes, the tuning of narrow's and full's recipes within their budgets, every
    arm on novel classes), then its tables recomputed from the Parquet files alone."""
    out = run_regime("regime_b", tmp_path)
    from benchmarks.recompute import write_tables
    from benchmarks.regimes.protocol import B_ARMS, TUNED
    from gtl_ray.evaluation.episode_file import read_episodes

    first = (out / "regime_b.md").read_text()
    novel = read_episodes(str(out / "B-novel.parquet"))
    assert set(novel.column("method").to_pylist()) == set(B_ARMS)
    assert set(novel.column("size").to_pylist()) == {"x1"} and set(novel.column("stream").to_pylist()) == {"episode"}
    tuning = read_episodes(str(out / "B-select.parquet"))
    assert set(tuning.column("stream").to_pylist()) == {"selection"} and set(tuning.column("split").to_pylist()) == {
        "val"
    }
    assert write_tables(out) == first and "Decision (offline" in first and not (out / "regime_a.md").exists()
    run = json.loads((out / "run.json").read_text())
    for seed, compute in run["compute"]["offline"].items():
        evolution = compute["evolution"]
        for (
            arm
        ) in TUNED:  # equal compute: each tuning spends at most what its seed's evolution spent beyond pre-training
            assert 0 < compute[arm]["spent"] <= compute[arm]["budget"] == evolution["total"] - evolution["pretrain"]
            assert run["choices"]["offline"][arm][seed]["recipe"]["steps"] >= 1
    prepared = {
        m: p for m, p in zip(novel.column("method").to_pylist(), novel.column("preparation_sample_grads").to_pylist())
    }
    assert prepared["learngene+recipe"] == prepared["learngene"] > prepared["narrow"] == prepared["full"]
