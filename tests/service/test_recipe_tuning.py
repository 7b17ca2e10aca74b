"""The fair baseline on Ray Tune (`service.recipe_tuning`): every planned recipe runs as a trial,
scores exactly as in one process, and the search stays within the evolution's budget; the
script's `--tiny` path end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gtl_ray.data import load_splits
from gtl_ray.evaluation.recipe_search import plan_search, prepare_search, score_recipe
from gtl_ray.service.recipe_tuning import tune_recipes
from tests.conftest import tiny
from tests.end_to_end.test_recipe_runs import RECIPE_RUN
from tests.helpers import ROOT


def test_the_tuner_runs_every_planned_recipe_and_scores_it_as_in_process(ray_session, tmp_path):
    config = tiny(*RECIPE_RUN)
    plan = plan_search(config, "narrow", budget=600, episodes=2, max_trials=3)
    result = tune_recipes(config, plan, cache_dir=str(tmp_path), storage_path=str(tmp_path / "tune"))
    shared = prepare_search(config, plan, load_splits(config.data), str(tmp_path))
    assert result.scores == [score_recipe(shared, recipe) for recipe in plan.recipes]
    assert result.spent == sum(plan.costs) <= plan.budget and len(result.scores) == 3
    best = max(s.accuracy for s in result.scores)
    assert result.best == min(i for i, s in enumerate(result.scores) if s.accuracy == best)
    assert (tmp_path / "tune" / "recipe-search-narrow").is_dir()  # Tune's own records, where asked


@pytest.mark.slow
def test_the_tune_recipe_script_tiny(tmp_path):
    out = tmp_path / "tune_recipe.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "tune_recipe.py"), "--tiny", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("# Recipe tuning benchmark")
    data = json.loads(out.read_text())
    assert set(data["methods"]) == {"narrow", "full"}
    for found in data["methods"].values():
        assert 0 < found["spent"] <= found["budget"] and found["trials"]
        assert found["best"]["accuracy"] == max(t["accuracy"] for t in found["trials"])
        assert f"evaluation.lr={found['best']['recipe']['lr']!r}" in found["evaluate_overrides"]
    assert out.with_suffix(".md").read_text().startswith("# Recipe tuning benchmark")
