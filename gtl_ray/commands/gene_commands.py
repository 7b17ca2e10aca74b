"""`gtl-ray evaluate` and `descend`: what a learngene does for descendants on the novel classes.
Both start from a config file or a run folder; from a run folder the gene is the run's final one
unless --learngene names another."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from gtl_ray.commands.options import command_config, learngene_location, ray_console, source_run

if TYPE_CHECKING:
    from gtl_ray.config import GTLConfig
    from gtl_ray.learngene import Learngene
    from gtl_ray.progress import Progress


def methods_override(text: str | None) -> list[str]:
    """`--methods a,b` (or `all`: every registered method) as a config override."""
    if not text:
        return []
    from gtl_ray.evaluation import list_methods

    names = list_methods() if text.strip() == "all" else [m.strip() for m in text.split(",") if m.strip()]
    return [f"evaluation.methods={json.dumps(names)}"]


def _evaluation_out(args: argparse.Namespace, config: GTLConfig, location: str | None) -> str | None:
    """--out, or RUN/evaluation.json when the command evaluates a run's own final gene (where
    `gtl-ray report` and `export` look for it)."""
    run = source_run(args, config)
    if args.out or args.learngene or location is None or run is None:
        return args.out
    from gtl_ray import storage
    from gtl_ray.run.result import EVALUATION

    return storage.join(run, EVALUATION)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Every method of `evaluation.methods` on the same novel-class episodes, as Ray tasks."""
    config = command_config(args, *methods_override(args.methods))
    methods = list(config.evaluation.methods)
    from gtl_ray.evaluation.methods import needs_learngene

    gene_methods = [m for m in methods if needs_learngene(m)]
    others = ",".join(m for m in methods if m not in gene_methods) or "scratch"
    needed_by = f"evaluate: {', '.join(map(repr, gene_methods))} (or leave it out: --methods {others})"
    location = learngene_location(args, config, needed_by) if gene_methods or args.learngene else None
    from gtl_ray import storage
    from gtl_ray.evaluation import format_table
    from gtl_ray.learngene import Learngene
    from gtl_ray.preflight.genes import check_gene_fits
    from gtl_ray.progress import stderr_unless
    from gtl_ray.run.store import RunStore

    gene = Learngene.load(location) if location else None
    if gene is not None:
        check_gene_fits(config, gene, location, "--set evaluation.descendant.width={width:g}")
    out = _evaluation_out(args, config, location)
    ray_console(args)
    report = _evaluate_on_ray(config, gene, methods, args.address, stderr_unless(args.json))
    if out:
        storage.write_bytes_atomic(out, json.dumps(report, indent=1).encode())
        stderr_unless(args.json).line(f"results written to {out}")
    if gene is not None:
        from gtl_ray.service.hparams import add_evaluation

        add_evaluation(RunStore(config.storage, config.name).run_dir, gene.checksum, report)
    print(json.dumps(report, indent=1) if args.json else format_table(report["results"], report["paired"]))
    return 0


def _evaluate_on_ray(
    config: GTLConfig, gene: Learngene | None, methods: list[str], address: str | None, progress: Progress
) -> dict[str, Any]:
    """The evaluation's JSON report, its episodes as tasks on the Ray at `address`."""
    import ray

    from gtl_ray.evaluation import evaluate
    from gtl_ray.run.store import RunStore
    from gtl_ray.service.ray_executor import RayExecutor

    if not ray.is_initialized():
        ray.init(address=address, namespace="gtl_ray")
    cache = RunStore(config.storage, config.name).layout.pretrained_dir
    counter = progress.counter("evaluate", "episodes")
    return evaluate(config, gene, methods, cache_dir=cache, executor=RayExecutor(), progress=counter).to_json()


def cmd_descend(args: argparse.Namespace) -> int:
    """A descendant initialized with the learngene, trained on the novel classes (Ray Train)."""
    shape = {"arch": args.model, "width": args.width, "depth": args.depth}
    config = command_config(args, *(f"evaluation.descendant.{k}={v}" for k, v in shape.items() if v is not None))
    location = learngene_location(args, config, "descend")
    from gtl_ray.descend import descend
    from gtl_ray.learngene import Learngene
    from gtl_ray.preflight.genes import check_gene_fits

    check_gene_fits(config, Learngene.load(location), location, "--width {width:g}")
    ray_console(args)
    result = descend(config, location, args.out, address=args.address)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"descendant saved to {result['path']} (test accuracy {100 * result['test_accuracy']:.1f}%)")
    return 0
