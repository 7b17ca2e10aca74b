"""The `gtl-ray` argument parser: one function per command, each naming its flags and the
function that runs it."""

from __future__ import annotations

import argparse

from gtl_ray.commands.gene_commands import cmd_descend, cmd_evaluate
from gtl_ray.commands.options import GENE_LOCATION
from gtl_ray.commands.read_commands import cmd_export, cmd_inspect, cmd_report
from gtl_ray.commands.run_commands import cmd_config, cmd_evolve, cmd_validate

Commands = "argparse._SubParsersAction[argparse.ArgumentParser]"
METHODS = "scratch,full,heuristic,learngene,narrow,distilled,sparse,random_slice,aft,learngene+aft"
LAYER_MAP = (
    "descendant unit=learngene unit, comma-separated: places gene layers by hand (evaluation.descendant.layer_map)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gtl-ray", description="Genetic Transfer Learning on Ray: evolve learngenes, initialize descendants."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # `--debug` after the command too; SUPPRESS keeps the value given before it when absent here.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    for add in (_validate, _evolve, _config, _evaluate, _descend, _inspect, _export, _report):
        add(sub, debug)
    return parser


def _with_config(p: argparse.ArgumentParser) -> None:
    """The config's arguments: a YAML file or a run folder, --set, --storage, --name."""
    p.add_argument(
        "config",
        nargs="?",
        metavar="CONFIG_OR_RUN",
        help="experiment YAML (see configs/), or a run folder (its stored config); absent: the run at --storage/--name",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a dotted config key; the value is parsed as YAML (repeatable)",
    )
    p.add_argument("--storage", help="storage root for runs (local folder, s3://, gs://); default: config 'storage'")
    p.add_argument("--name", help="run name (default: config 'name'; with a run folder: another run, same settings)")


def _validate(sub: Commands, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser("validate", parents=[debug], help="validate a config and check its data paths, without Ray")
    _with_config(p)
    p.set_defaults(func=cmd_validate)


def _evolve(sub: Commands, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser("evolve", parents=[debug], help="evolve a learngene with a population on Ray")
    _with_config(p)
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


def _config(sub: Commands, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser("config", parents=[debug], help="print the effective config of a run (or a file) as YAML")
    _with_config(p)
    p.set_defaults(func=cmd_config)


def _evaluate(sub: Commands, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "evaluate", parents=[debug], help="few-shot evaluation: learngene vs. baselines on novel classes"
    )
    _with_config(p)
    p.add_argument("--learngene", help=GENE_LOCATION + "; default with a run folder: its final gene")
    p.add_argument("--methods", help=f"comma-separated registered methods ({METHODS}), or all")
    p.add_argument("--layer-map", metavar="UNIT=GENE_UNIT,...", help=LAYER_MAP)
    p.add_argument("--address", help="Ray cluster address")
    p.add_argument("--out", help="also write the JSON results here (default with a run folder: RUN/evaluation.json)")
    p.add_argument("--json", action="store_true", help='print {"results": [...]} as JSON')
    p.set_defaults(func=cmd_evaluate)


def _descend(sub: Commands, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser("descend", parents=[debug], help="train a descendant initialized with a learngene (Ray Train)")
    _with_config(p)
    p.add_argument("--learngene", help=GENE_LOCATION + "; default with a run folder: its final gene")
    p.add_argument("--model", help="descendant architecture (default: the config's)")
    p.add_argument("--width", type=float, help="descendant width multiplier")
    p.add_argument("--depth", type=int, help="descendant depth")
    p.add_argument("--layer-map", metavar="UNIT=GENE_UNIT,...", help=LAYER_MAP)
    p.add_argument("--out", help="where to save the descendant (.safetensors); default RUN/descendants/...")
    p.add_argument("--address", help="Ray cluster address")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_descend)


def _inspect(sub: Commands, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser("inspect", parents=[debug], help="show a run's progress and lineage, or a learngene's header")
    p.add_argument("target", help="run directory, or " + GENE_LOCATION)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)


def _export(sub: Commands, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export", parents=[debug], help="write a learngene as a model-hub folder: safetensors, config.json, model card"
    )
    p.add_argument("source", help="run directory (its final learngene) or learngene location")
    p.add_argument("out", help="folder to write (created; its three files are replaced only with --overwrite)")
    p.add_argument(
        "--repo", metavar="OWNER/NAME", help="the Hub repository it will go to (used in the card's examples)"
    )
    p.add_argument("--license", default="apache-2.0", help="license of the weights in the card (default: apache-2.0)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in the folder")
    p.set_defaults(func=cmd_export)


def _report(sub: Commands, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[debug], help="write a self-contained HTML report (plus PNGs) of a run")
    p.add_argument("run", help="run directory")
    p.add_argument("--out", help="output folder (default RUN/report)")
    p.set_defaults(func=cmd_report)
