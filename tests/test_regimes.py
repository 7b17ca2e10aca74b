"""The protocol harness's own logic (benchmarks/regimes): unit keys and their paths, the val
choice rule, the decision rule, and tables recomputed from a per-episode file alone."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchmarks.recompute import write_tables
from benchmarks.regimes.protocol import ARMS, B_ARMS, REGIME_B, REPORT, SIZES, Variant
from benchmarks.regimes.rules import choose, decision
from benchmarks.regimes.units import Evolution, Pretraining, Scoring, Start, Study
from gtl_ray.evaluation.episode_file import EPISODES, EpisodeRow, write_episodes


def test_every_unit_field_is_in_its_path(tmp_path):
    study = Study("offline", (), str(tmp_path))
    evolution = Evolution(study, 1, Variant("scaled", 0.1))
    base = Scoring(
        study, REPORT, "novel", "own/K", "x2", 1, Start("network", "size", 3), Variant("default"), 40, (1, 5)
    )
    variants = [
        base,
        Scoring(study, REPORT, "novel", "own/K", "x2", 2, Start("network", "size", 3), Variant("default"), 40, (1, 5)),
        Scoring(study, REPORT, "novel", "own/K", "x1", 1, Start("network", "size", 3), Variant("default"), 40, (1, 5)),
        Scoring(study, REPORT, "novel", "own/K", "x2", 1, Start("network", "size", 4), Variant("default"), 40, (1, 5)),
        Scoring(
            study, REPORT, "novel", "own/K", "x2", 1, Start("network", "size", 3), Variant("zero_cross"), 40, (1, 5)
        ),
        Scoring(study, REPORT, "novel", "own/K", "x2", 1, Start("network", "size", 3), Variant("default"), 41, (1, 5)),
        Scoring(study, REPORT, "novel", "own/K", "x2", 1, Start("network", "size", 3), Variant("default"), 40, (5,)),
        Scoring(
            study, "A-select", "val", "own/K", "x2", 1, Start("network", "size", 3), Variant("default"), 40, (1, 5)
        ),
        Scoring(
            study,
            REPORT,
            "novel",
            "learngene",
            "x2",
            1,
            Start("gene", "evolved", evolution=evolution),
            Variant("default"),
            40,
            (1, 5),
        ),
    ]
    assert len({v.path for v in variants}) == len(variants)
    assert all(str(v.path).startswith(str(tmp_path / "offline" / "units")) for v in variants)
    same = Scoring(
        study, REPORT, "novel", "own/K", "x2", 1, Start("network", "size", 3), Variant("default"), 40, (1, 5)
    )
    assert same.path == base.path and "/" not in base.path.name
    assert Pretraining(study, "gene", 8, 0).path != Pretraining(study, "gene", 11, 0).path
    assert evolution.path != Evolution(study, 1, Variant("default")).path
    assert Variant("scaled", 0.1).name == "scaled-0.1" and Variant("zero_cross", 0.1).name == "zero_cross"


def test_the_choice_rule_takes_the_highest_mean_and_the_earlier_of_a_tie():
    order = ["default", "scaled-0.3", "scaled-0.1", "zero_cross"]
    assert choose({"default": 0.5, "scaled-0.3": 0.7, "zero_cross": 0.6}, order) == "scaled-0.3"
    assert choose({"zero_cross": 0.7, "scaled-0.1": 0.7, "default": 0.2}, order) == "scaled-0.1"


def novel_rows(gain: dict[int, float], seeds=(0, 1, 2), episodes=6) -> list[EpisodeRow]:
    """Every arm at every size: a base accuracy per episode, the learngene `gain[seed]` above the
    best equal-compute baseline (narrow-eq, +0.05 over the other arms)."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.4, 0.7, episodes)
    rows = []
    for arm in ARMS:
        for seed in seeds:
            for size in SIZES:
                for e in range(episodes):
                    value = base[e] + {"narrow-eq": 0.05, "learngene": 0.05 + gain[seed]}.get(arm, 0.0)
                    rows.append(
                        EpisodeRow(
                            "offline",
                            REPORT,
                            "novel",
                            "episode",
                            arm,
                            "",
                            size.name,
                            seed,
                            5,
                            e,
                            float(value),
                            0.5,
                            500,
                            1000,
                        )
                    )
    return rows


def test_the_decision_rule_needs_a_point_and_a_seed_interval_above_zero(tmp_path):
    sizes = [s.name for s in SIZES]
    met = decision(EPISODES.to_table(novel_rows({0: 0.02, 1: 0.025, 2: 0.03})), "offline", sizes)
    assert met["best_equal_compute"] == "narrow-eq" and met["met"]
    assert met["difference"]["mean"] == pytest.approx(0.025) and met["difference"]["per_seed"] == pytest.approx(
        [0.02, 0.025, 0.03]
    )
    small = decision(EPISODES.to_table(novel_rows({0: 0.005, 1: 0.006, 2: 0.007})), "offline", sizes)
    assert small["difference"]["resolved"] and not small["met"]  # resolved, but below +1 point
    spread = decision(EPISODES.to_table(novel_rows({0: -0.03, 1: 0.02, 2: 0.08})), "offline", sizes)
    assert spread["difference"]["mean"] >= 0.01 and not spread["met"]  # the seeds disagree


def test_tables_are_recomputed_from_the_parquet_file_alone(tmp_path):
    write_episodes(str(tmp_path / f"{REPORT}.parquet"), novel_rows({0: 0.02, 1: 0.025, 2: 0.03}))
    markdown = write_tables(tmp_path)
    figures = json.loads((tmp_path / "regime_a.json").read_text())
    five = figures["novel"]["offline"]["shots"]["5"]
    assert five["learngene"]["over_sizes"]["mean"] - five["narrow-eq"]["over_sizes"]["mean"] == pytest.approx(0.025)
    assert five["scratch"]["learngene_minus_this"]["mean"] == pytest.approx(0.075)
    assert figures["novel"]["offline"]["decision"]["met"] and "**met**" in markdown
    assert (tmp_path / "regime_a.md").read_text() == markdown == write_tables(tmp_path)


def b_rows(table: str, arm: str, seed: int, accuracies: list[float], variant: str = "", shots: int = 5) -> list:
    split, stream = ("val", "selection") if table == REGIME_B.select else ("novel", "episode")
    return [
        EpisodeRow("offline", table, split, stream, arm, variant, "x1", seed, shots, e, a, 0.5, 100, 1000)
        for e, a in enumerate(accuracies)
    ]


def test_regime_b_tuning_is_chosen_per_seed_and_its_tables_recomputed_from_parquet(tmp_path):
    """B-select: the winner of each seed's trials (highest mean; ties: the earlier trial, by number
    not by name); B-novel: learngene+recipe against the better tuned baseline, seed by seed."""
    tuning = []
    for seed, means in {0: [0.5, 0.7, 0.6], 1: [0.6, 0.4, 0.6]}.items():
        for trial, mean in enumerate(means):
            tuning += b_rows(REGIME_B.select, "narrow+tuned", seed, [mean, mean], f"trial-{trial:02d}")
    tuning += [r for t in range(12) for r in b_rows(REGIME_B.select, "full+tuned", 0, [0.5], f"trial-{t:02d}")]
    novel, base = [], np.random.default_rng(1).uniform(0.4, 0.7, 6)
    gains = {"learngene+recipe": 0.07, "full+tuned": 0.05, "narrow+tuned": 0.03}
    for arm in B_ARMS:
        for seed in (0, 1, 2):
            novel += b_rows(REGIME_B.report, arm, seed, list(base + gains.get(arm, 0.0) + 0.001 * seed))
    write_episodes(str(tmp_path / f"{REGIME_B.select}.parquet"), tuning)
    write_episodes(str(tmp_path / f"{REGIME_B.report}.parquet"), novel)
    markdown = write_tables(tmp_path)
    figures = json.loads((tmp_path / "regime_b.json").read_text())
    narrow = figures["select"]["offline"]["narrow+tuned"]
    assert narrow["0"]["chosen"] == "trial-01" and narrow["1"]["chosen"] == "trial-00" and narrow["0"]["trials"] == 3
    assert figures["select"]["offline"]["full+tuned"]["0"]["chosen"] == "trial-00"  # 12 tied trials: the first
    decided = figures["novel"]["offline"]["decision"]
    assert decided["best_equal_compute"] == "full+tuned" and decided["difference"]["mean"] == pytest.approx(0.02)
    assert decided["met"] and figures["protocol_version"] == REGIME_B.protocol == 2
    assert "learngene+recipe − full+tuned" in markdown and not (tmp_path / "regime_a.md").exists()
    assert (tmp_path / "regime_b.md").read_text() == markdown == write_tables(tmp_path)


def test_regime_b_units_have_paths_of_their_own_and_regime_a_keeps_its_paths(tmp_path):
    study = Study("offline", (), str(tmp_path))
    a = Evolution(study, 1, Variant("default"))
    b = Evolution(study, 1, Variant("default"), sizes=("x1",), extra=("evolution.recipe={lr: [0.01, 0.1]}",))
    assert a.path.name == "evolve-default-s1.json" and a.tag == "" and b.path != a.path
    assert Start("gene", "evolved", evolution=a).key != Start("gene", "evolved", evolution=b).key
    args = (study, REGIME_B.select, "val", "narrow+tuned", "x1", 0, Start("gene", "narrow", 8), Variant("default"), 4)
    plain, tuned = Scoring(*args), Scoring(*args, recipe=("evaluation.lr=0.05",), trial=3)
    other = Scoring(*args, recipe=("evaluation.lr=0.06",), trial=3)
    assert len({plain.path, tuned.path, other.path}) == 3 and tuned.label == "trial-03" and plain.label == "default"
    digest = hashlib.sha256(plain.start.key.encode()).hexdigest()[:8]  # a unit without a recipe keeps regime A's name
    assert plain.path.name == f"narrow+tuned-default-x1-s0-e4-k5-{digest}.parquet"


@pytest.mark.parametrize("regime", ["regime_a", "regime_b"])
def test_the_committed_pages_are_what_their_committed_parquet_files_give(tmp_path, regime):
    """Anyone can recompute every committed number: the pages in benchmarks/results/ come back
    byte for byte from the per-episode files beside them (and the run's compute record)."""
    committed = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / regime
    inputs = [*committed.glob("*.parquet"), committed / "run.json", committed / "costs.json"]
    for source in inputs:
        shutil.copy(source, tmp_path / source.name)
    write_tables(tmp_path)
    assert (tmp_path / f"{regime}.md").read_text() == (committed / f"{regime}.md").read_text()
    assert json.loads((tmp_path / f"{regime}.json").read_text()) == json.loads(
        (committed / f"{regime}.json").read_text()
    )


def test_regime_b_decision_recomputed_by_hand_from_its_committed_episodes():
    """One CI recomputed without the harness: per seed, the mean over the same 60 episodes of
    learngene+recipe minus full+tuned; then t over the 5 seeds."""
    folder = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "regime_b"
    rows = [
        r
        for r in pq.read_table(folder / "B-novel.parquet").to_pylist()
        if r["dataset"] == "offline" and r["shots"] == 5
    ]
    score = {(r["method"], r["seed"], r["episode"]): r["accuracy"] for r in rows}
    seeds = sorted({r["seed"] for r in rows})
    episodes = sorted({r["episode"] for r in rows})
    per_seed = [np.mean([score["learngene+recipe", s, e] - score["full+tuned", s, e] for e in episodes]) for s in seeds]
    half = scipy_free_t95(len(seeds)) * np.std(per_seed, ddof=1) / np.sqrt(len(seeds))
    decided = json.loads((folder / "regime_b.json").read_text())["novel"]["offline"]["decision"]
    assert decided["best_equal_compute"] == "full+tuned" and len(seeds) == 5 and len(episodes) == 60
    assert decided["difference"]["per_seed"] == pytest.approx(per_seed, abs=1e-9)
    assert decided["difference"]["seed_ci95"] == pytest.approx(half, rel=1e-6)


def scipy_free_t95(n: int) -> float:
    """Two-sided 95% t quantiles for n - 1 degrees of freedom (tables; scipy is not a dependency)."""
    return {3: 4.302653, 4: 3.182446, 5: 2.776445, 6: 2.570582}[n]
