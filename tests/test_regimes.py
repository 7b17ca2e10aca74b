"""The protocol harness's own logic (benchmarks/regimes): unit keys and their paths, the val
choice rule, the decision rule, and tables recomputed from a per-episode file alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.recompute import write_tables
from benchmarks.regimes.protocol import ARMS, REPORT, SIZES, Variant
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
