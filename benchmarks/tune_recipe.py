"""Regime B's fair baseline: the evolution's recipe space (`evolution.recipe`) tuned with Ray Tune
for methods that do not evolve (`narrow`, `full`), at the sample-gradients the evolution spent.

    python benchmarks/tune_recipe.py --config CONFIG --run RUN_DIR [--methods narrow,full]
        [--episodes N] [--max-trials N] [--set key=value ...] [--out FILE.json]
    python benchmarks/tune_recipe.py --budget N ...   # an explicit budget instead of a run's
    python benchmarks/tune_recipe.py --tiny --out /tmp/t.json   # the suite's smoke test

The budget is the run's manifest compute.total minus compute.pretrain (`recipe_search.
evolution_budget`), per method. Trials are scored on val-class episodes of the selection stream
(`gtl_ray.evaluation.recipe_search`), never on the episodes a table reports. Writes the JSON
(trials, best recipe, the `--set` overrides that evaluate a method with it) and a Markdown page
beside it, and prints the page. Starts its own local Ray (`address="local"`) and stops it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ray  # noqa: E402

from gtl_ray.evaluation.recipe_search import (  # noqa: E402
    SearchResult,
    evaluate_overrides,
    evolution_budget,
    plan_search,
)
from gtl_ray.preflight import load_config  # noqa: E402
from gtl_ray.report import machine_description  # noqa: E402
from gtl_ray.run.store import RunStore  # noqa: E402
from gtl_ray.service.recipe_tuning import tune_recipes  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "tune_recipe.json"
TINY = (
    "model.width=0.125",
    "data.num_classes=40",
    "data.images_per_class=20",
    "data.splits={base: 20, val: 5, novel: 10}",
    "lifetime.train_per_class=10",
    "lifetime.query_per_class=5",
    "evaluation.shots=[1]",
    "evaluation.query=5",
    "evolution.fitness=descendant",
    "evolution.fitness_shots=1",
    "evolution.recipe={lr: [0.001, 0.1], lr_mult_head: [0.5, 4.0], steps: [2, 6], weight_decay: [0.0001, 0.01]}",
    "pretrain.epochs=1",
)
TINY_BUDGET, TINY_EPISODES = 100, 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=None, help="run config (YAML); default: the built-in defaults")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (repeatable)")
    p.add_argument("--run", help="the evolution's run folder: its manifest's compute sets the budget")
    p.add_argument("--budget", type=int, help="sample-gradients per method (instead of --run)")
    p.add_argument("--methods", default="narrow,full", help="comma-separated methods whose recipe is tuned")
    p.add_argument("--episodes", type=int, help="selection episodes per trial (default final.val_episodes)")
    p.add_argument("--max-trials", type=int, help="at most this many trials per method")
    p.add_argument("--num-cpus", type=int, default=2, help="logical CPUs of the local Ray")
    p.add_argument("--tiny", action="store_true", help="a tiny config and budget: the smoke test")
    p.add_argument("--quick", action="store_true", help="accepted for symmetry with the other scripts")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    if args.tiny:
        args.budget, args.episodes = args.budget or TINY_BUDGET, args.episodes or TINY_EPISODES
    if (args.run is None) == (args.budget is None):
        p.error("give exactly one of --run RUN_DIR and --budget N")
    return args


def page(results: dict[str, SearchResult], command: str) -> str:
    lines = ["# Recipe tuning benchmark", "", f"`{command}`", ""]
    for method, result in results.items():
        plan, best = result.plan, result.plan.recipes[result.best]
        lines += [
            f"## {method}: {len(plan.recipes)} trials, {result.spent} of {plan.budget} sample-gradients",
            "",
            (
                f"Best (trial {result.best}, accuracy {result.scores[result.best].accuracy:.4f} on "
                f"{plan.episodes} val selection episodes, {plan.shots}-shot): `{json.dumps(best.to_json())}`"
            ),
            "",
            f"Evaluate it: `--methods {method} " + " ".join(f"--set {o}" for o in evaluate_overrides(best)) + "`",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = (list(TINY) if args.tiny else []) + args.set
    config = load_config(args.config, overrides)  # every value checked before Ray starts
    store = RunStore.from_path(args.run) if args.run else None
    budget = evolution_budget(store.read_manifest().compute) if store else args.budget
    episodes = args.episodes or config.final.val_episodes
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    plans = {m: plan_search(config, m, budget, episodes, args.max_trials) for m in methods}
    started = time.time()
    ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    try:  # the run's pre-training cache: the narrow network the evolution started from (same seed)
        with tempfile.TemporaryDirectory(prefix="gtl-tune-recipe-") as scratch:
            cache = store.layout.pretrained_dir if store else scratch
            results = {m: tune_recipes(config, plan, cache_dir=cache) for m, plan in plans.items()}
    finally:
        ray.shutdown()
    command = " ".join(shlex.quote(a) for a in ["python", "benchmarks/tune_recipe.py", *(argv or sys.argv[1:])])
    report = {
        "command": command,
        "machine": machine_description(),
        "wall_seconds": time.time() - started,
        "methods": {m: result_json(r) for m, r in results.items()},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    text = page(results, command)
    out.with_suffix(".md").write_text(text + "\n")
    print(text)
    return 0


def result_json(result: SearchResult) -> dict:
    plan, best = result.plan, result.plan.recipes[result.best]
    return {
        "budget": plan.budget,
        "spent": result.spent,
        "episodes": plan.episodes,
        "shots": plan.shots,
        "trials": [
            {"recipe": r.to_json(), "accuracy": s.accuracy, "sample_grads": s.sample_grads}
            for r, s in zip(plan.recipes, result.scores)
        ],
        "best": {"trial": result.best, "recipe": best.to_json(), "accuracy": result.scores[result.best].accuracy},
        "evaluate_overrides": evaluate_overrides(best),
    }


if __name__ == "__main__":
    sys.exit(main())
