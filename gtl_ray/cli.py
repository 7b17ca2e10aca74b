"""`gtl-ray` command line: validate, evolve, evaluate, descend, inspect, report.

Every command validates its config before Ray starts. Exit codes: 0 success, 2 bad input (a
one-line message naming the culprit; traceback only with --debug), 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from gtl_ray.config import GTLConfig
from gtl_ray.errors import GTLError, RunFailed

log = logging.getLogger("gtl_ray")


def _config(args: argparse.Namespace, *extra: str) -> GTLConfig:
    from gtl_ray.config_checks import load_config  # checks against the models: imports torch

    overrides = list(args.set or []) + list(extra)
    # --storage and --name are strings as typed (JSON quoting is YAML), not YAML to interpret.
    if getattr(args, "storage", None):
        overrides.append(f"storage={json.dumps(args.storage)}")
    if getattr(args, "name", None) is not None:
        overrides.append(f"name={json.dumps(args.name)}")
    return load_config(args.config, overrides)


def cmd_validate(args: argparse.Namespace) -> int:
    """The config's values, then its data: paths exist and are readable (nothing decoded)."""
    config = _config(args)
    from gtl_ray.data.splits import check_source
    from gtl_ray.service.capacity import total_demand

    check = check_source(config.data)
    print(
        f"{args.config}: valid (population {config.population.size}, {config.evolution.generations} generations, demand {total_demand(config)})"
    )
    for line in check.checked:
        print(f"data ({config.data.format}) checked: {line}")
    for line in check.not_checked:
        print(f"data ({config.data.format}) not checked: {line}")
    return 0


def cmd_evolve(args: argparse.Namespace) -> int:
    config = _config(args)
    from gtl_ray.progress import stderr_unless
    from gtl_ray.service.run import evolve

    outcome = evolve(
        config,
        resume=args.resume,
        force=args.force,
        overwrite=args.overwrite,
        address=args.address,
        config_path=args.config,
        progress=stderr_unless(args.json),
    )
    if args.json:
        print(json.dumps(outcome.__dict__, indent=1))
        return 0
    print(f"run: {outcome.run_dir}")
    print(f"generations completed: {outcome.generations_completed}")
    print(f"final learngene: {outcome.final_learngene}")
    if outcome.generations:
        # Generation 1 waits for the members' placement (counted in the start-up figures): the
        # mean is over the later ones when there are any.
        later = outcome.generations[1:] or outcome.generations
        lifetime = sum(g["timing"]["lifetime_max"] for g in later) / len(later)
        wall = sum(g["timing"]["wall"] for g in later) / len(later)
        which = f"generations 2-{len(outcome.generations)}" if len(outcome.generations) > 1 else "generation 1"
        print(
            f"wall time: {outcome.wall_seconds:.1f} s{_startup(outcome.startup)}; per generation ({which}) "
            f"{wall:.2f} s, of which lifetime {lifetime:.2f} s and other {wall - lifetime:.2f} s"
        )
    return 0


STARTUP = (
    ("ray_start_s", "Ray start"),
    ("initial_gene_s", "initial gene"),
    ("placement_s", "member placement"),
    ("first_generation_s", "first generation"),
)


def _startup(figures: dict[str, float | None]) -> str:
    """The start-up figures this session has, as " (Ray start 2.1 s, ..., first generation 3.0 s)"."""
    parts = [f"{label} {figures[key]:.1f} s" for key, label in STARTUP if figures.get(key) is not None]
    return f" ({', '.join(parts)})" if parts else ""


def _check_gene_fits(config: GTLConfig, gene: Any, uri: str) -> None:
    """Fail before Ray starts (and before any pre-training) when the learngene cannot initialize
    the descendant network: implant it into a throwaway copy."""
    from gtl_ray.errors import LearngeneError
    from gtl_ray.learngene import implant
    from gtl_ray.models import create_model

    shape = config.descendant_shape()
    try:
        implant(
            gene, create_model(shape.arch, width=shape.width, depth=shape.depth, num_classes=config.evaluation.n_way)
        )
    except LearngeneError as exc:
        raise LearngeneError(f"--learngene {uri}: {exc}") from None


def _message(exc: BaseException) -> str:
    """One line: a GTLError raised inside a Ray task arrives wrapped (RayTaskError, whose text
    holds the remote traceback); show the original error's message."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    return " ".join(str(exc).split())


def _methods_override(text: str | None) -> list[str]:
    """`--methods a,b` (or `all`: every registered method) as a config override."""
    if not text:
        return []
    from gtl_ray.evaluation import list_methods

    names = list_methods() if text.strip() == "all" else [m.strip() for m in text.split(",") if m.strip()]
    return [f"evaluation.methods={json.dumps(names)}"]


def cmd_evaluate(args: argparse.Namespace) -> int:
    config = _config(args, *_methods_override(args.methods))
    methods = list(config.evaluation.methods)
    from gtl_ray.evaluation.methods import needs_learngene

    gene_methods = [m for m in methods if needs_learngene(m)]
    if gene_methods and not args.learngene:
        others = ",".join(m for m in methods if m not in gene_methods) or "scratch"
        raise GTLError(
            f"evaluate: --learngene URI is needed by {', '.join(map(repr, gene_methods))} (or leave them out: --methods {others})"
        )
    from gtl_ray import storage
    from gtl_ray.evaluation import evaluate, format_table
    from gtl_ray.learngene import Learngene
    from gtl_ray.progress import stderr_unless
    from gtl_ray.run_store import RunStore

    gene = Learngene.load(args.learngene) if args.learngene else None
    if gene is not None:
        _check_gene_fits(config, gene, args.learngene)
    import ray

    from gtl_ray.service.executors import RayExecutor

    if not ray.is_initialized():
        ray.init(address=args.address, namespace="gtl_ray")
    cache = RunStore(config.storage, config.name).pretrained_dir
    evaluation = evaluate(
        config,
        gene,
        methods,
        cache_dir=cache,
        executor=RayExecutor(),
        progress=stderr_unless(args.json).counter("evaluate", "episodes"),
    )
    report = evaluation.to_json()
    if args.out:
        storage.write_bytes_atomic(args.out, json.dumps(report, indent=1).encode())
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(format_table(report["results"], report["paired"]))
    return 0


def cmd_descend(args: argparse.Namespace) -> int:
    overrides = list(args.set or [])
    for key in ("model", "width", "depth"):
        value = getattr(args, key)
        if value is not None:
            overrides.append(f"evaluation.descendant.{'arch' if key == 'model' else key}={value}")
    args.set = overrides
    config = _config(args)
    from gtl_ray.descend import descend
    from gtl_ray.learngene import Learngene

    _check_gene_fits(config, Learngene.load(args.learngene), args.learngene)
    result = descend(config, args.learngene, args.out, address=args.address)
    print(
        json.dumps(result, indent=1)
        if args.json
        else f"descendant saved to {result['path']} (test accuracy {result['test_accuracy']:.4f})"
    )
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from gtl_ray.inspection import format_inspection, inspect_path

    info = inspect_path(args.target)
    print(json.dumps(info, indent=1) if args.json else format_inspection(info))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gtl_ray.report import write_report

    print(f"report written to {write_report(args.run, args.out)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gtl-ray", description="Genetic Transfer Learning on Ray: evolve learngenes, initialize descendants."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # `--debug` after the command too; SUPPRESS keeps the value given before it when absent here.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("config", help="experiment YAML (see configs/)")
        p.add_argument(
            "--set",
            action="append",
            metavar="KEY=VALUE",
            help="override a dotted config key; the value is parsed as YAML (repeatable)",
        )
        p.add_argument(
            "--storage", help="storage root for runs (local folder, s3://, gs://); default: config 'storage'"
        )
        p.add_argument("--name", help="run name (default: config 'name')")

    p = sub.add_parser(
        "validate", parents=[debug], help="validate a config and check its data paths, without starting Ray"
    )
    with_config(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("evolve", parents=[debug], help="evolve a learngene with a population on Ray")
    with_config(p)
    p.add_argument("--resume", action="store_true", help="continue the run from its last complete generation")
    p.add_argument(
        "--force", action="store_true", help="with --resume: accept a config that differs from the stored one"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing run of the same name")
    p.add_argument(
        "--address",
        help="Ray cluster address (default: RAY_ADDRESS, a local `ray start` cluster, else a new local Ray)",
    )
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(func=cmd_evolve)

    p = sub.add_parser(
        "evaluate", parents=[debug], help="few-shot evaluation: learngene vs. baselines on novel classes"
    )
    with_config(p)
    p.add_argument("--learngene", help="learngene file (local path or URI)")
    p.add_argument(
        "--methods",
        help="comma-separated registered methods (scratch,full,heuristic,learngene,narrow,distilled,sparse,random_slice,aft,learngene+aft), or all",
    )
    p.add_argument("--address", help="Ray cluster address")
    p.add_argument("--out", help="also write the JSON results here")
    p.add_argument("--json", action="store_true", help='print {"results": [...]} as JSON')
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("descend", parents=[debug], help="train a descendant initialized with a learngene (Ray Train)")
    with_config(p)
    p.add_argument("--learngene", required=True, help="learngene file (local path or URI)")
    p.add_argument("--model", help="descendant architecture (default: the config's)")
    p.add_argument("--width", type=float, help="descendant width multiplier")
    p.add_argument("--depth", type=int, help="descendant depth")
    p.add_argument("--out", help="where to save the descendant (.safetensors); default RUN/descendants/...")
    p.add_argument("--address", help="Ray cluster address")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_descend)

    p = sub.add_parser("inspect", parents=[debug], help="show a run's progress and lineage, or a learngene's header")
    p.add_argument("target", help="run directory or learngene file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("report", parents=[debug], help="write a self-contained HTML report (plus PNGs) of a run")
    p.add_argument("run", help="run directory")
    p.add_argument("--out", help="output folder (default RUN/report)")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    if hasattr(sys.stdout, "reconfigure"):  # a file name or header text that is not UTF-8 prints escaped
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        return int(args.func(args) or 0)
    except GTLError as exc:
        if args.debug:
            raise
        print(f"gtl-ray: error: {_message(exc)}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        if args.debug:
            raise
        print(f"gtl-ray: run failed: {_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gtl-ray: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or an environment failure: one line unless --debug
        if args.debug:
            raise
        print(
            f"gtl-ray: unexpected {type(exc).__name__}: {_message(exc)} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
