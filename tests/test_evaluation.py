"""Descendant evaluation: same episodes for every method, mean and 95% CI, baselines by flag."""
from __future__ import annotations

import math

import pytest

from gtl_ray.data import EpisodeSampler, load_splits
from gtl_ray.evaluation import evaluate, format_table, list_methods, mean_ci95
from gtl_ray.evaluation.episodes import nearest_centroid_accuracy
from gtl_ray.evolution import evolve_local
from gtl_ray.models import create_model


def test_mean_ci95_is_the_few_shot_convention():
    mean, ci = mean_ci95([0.2, 0.4, 0.6, 0.8])
    assert mean == pytest.approx(0.5)
    assert ci == pytest.approx(1.96 * math.sqrt(sum((v - 0.5) ** 2 for v in [0.2, 0.4, 0.6, 0.8]) / 3) / 2)
    assert mean_ci95([0.7]) == (0.7, 0.0)


def test_methods_registry():
    assert list_methods() == ["scratch", "full", "heuristic", "learngene"]


def test_instinct_of_identical_features_is_chance_or_better(tiny_config):
    config = tiny_config()
    novel = load_splits(config.data).novel
    task = EpisodeSampler(novel, 5, 2, 3, 1, seed=0)[0]
    acc = nearest_centroid_accuracy(create_model("vgg11", width=0.125), task, 5)
    assert 0.0 <= acc <= 1.0


def test_evaluate_all_methods_in_process(tiny_config, tmp_path):
    config = tiny_config("evaluation.shots=[1, 2]")
    gene = evolve_local(tiny_config("evolution.generations=1")).final
    rows = evaluate(config, gene, cache_dir=str(tmp_path / "cache"), use_ray=False)
    assert [(r["method"], r["shots"]) for r in rows] == [(m, s) for s in (1, 2) for m in list_methods()]
    for r in rows:
        assert set(r) >= {"method", "n_way", "shots", "mean", "ci95", "episodes", "instinct_mean", "instinct_ci95"}
        assert 0.0 <= r["mean"] <= 1.0 and r["episodes"] == 4 and r["n_way"] == 5
    assert (tmp_path / "cache").is_dir() and any((tmp_path / "cache").iterdir())  # pre-training cached
    table = format_table(rows)
    assert "5-way 1-shot" in table and "learngene" in table and "±" in table


def test_ray_and_in_process_evaluation_agree(ray_session, tiny_config, tmp_path):
    config = tiny_config()
    rows_ray = evaluate(config, None, ["scratch", "full"], cache_dir=str(tmp_path), use_ray=True)
    rows_local = evaluate(config, None, ["scratch", "full"], cache_dir=str(tmp_path), use_ray=False)
    assert [(r["method"], r["mean"]) for r in rows_ray] == [(r["method"], r["mean"]) for r in rows_local]


def test_learngene_method_needs_a_gene(tiny_config):
    from gtl_ray.errors import ConfigError

    with pytest.raises(ConfigError, match="--learngene"):
        evaluate(tiny_config(), None, ["learngene"], use_ray=False)
