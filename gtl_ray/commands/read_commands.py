"""`gtl-ray inspect`, `export` and `report`: reading a run folder or a learngene, without Ray."""

from __future__ import annotations

import argparse
import json


def cmd_inspect(args: argparse.Namespace) -> int:
    from gtl_ray.inspection import format_inspection, inspect_path

    info = inspect_path(args.target)
    print(json.dumps(info, indent=1) if args.json else format_inspection(info))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from gtl_ray.export import export

    folder = export(args.source, args.out, repo=args.repo, license=args.license, overwrite=args.overwrite)
    print(f"exported to {folder} (model.safetensors, config.json, README.md)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gtl_ray.report import write_report

    print(f"report written to {write_report(args.run, args.out)}")
    return 0
