"""What the commands read from their arguments: the config (a YAML file or a run folder, with
`--set`, `--storage`, `--name`, `--layer-map`), the learngene (`--learngene`: a gene location or a
run folder, or by default the run's own final gene), and Ray's console settings."""

from __future__ import annotations

import argparse
import json

from gtl_ray.config import GTLConfig
from gtl_ray.config_source import load, run_folder
from gtl_ray.errors import ConfigError, GTLError, quote

GENE_LOCATION = (
    "learngene: a file (local path or URI), a run folder (its final gene), a folder from `gtl-ray export`, "
    "or hf://owner/repo[@revision]"
)


def command_config(args: argparse.Namespace, *extra: str) -> GTLConfig:
    """The command's config: `args.config` (a YAML file, a run folder, or absent: the run at
    --storage/--name), then --set, the command's own `extra` overrides and --layer-map, then
    --storage and --name; checked before Ray starts."""
    overrides = list(args.set or []) + list(extra)
    if getattr(args, "layer_map", None) is not None:
        overrides.append(f"evaluation.descendant.layer_map={json.dumps(layer_map(args.layer_map))}")
    return load(getattr(args, "config", None), overrides, getattr(args, "storage", None), getattr(args, "name", None))


def layer_map(text: str) -> dict[str, str]:
    """`--layer-map unit=gene_unit,...` as a mapping (descendant unit -> learngene unit)."""
    pairs = [item.strip() for item in text.split(",") if item.strip()]
    mapping = dict(item.split("=", 1) for item in pairs if item.count("=") == 1)
    if not pairs or len(mapping) != len(pairs) or not all(k.strip() and v.strip() for k, v in mapping.items()):
        raise ConfigError(f"--layer-map expects unit=gene_unit,... (comma-separated), got {quote(text)}")
    return {k.strip(): v.strip() for k, v in mapping.items()}


def source_run(args: argparse.Namespace, config: GTLConfig) -> str | None:
    """The run folder the command starts from (a run folder given as the config, or the run at
    --storage/--name when no config is given), else None."""
    given = getattr(args, "config", None)
    if given is None:
        from gtl_ray.run.layout import RunLayout

        return RunLayout(config.storage, config.name).run_dir
    return run_folder(given)


def learngene_location(args: argparse.Namespace, config: GTLConfig, needed_by: str = "") -> str | None:
    """The learngene file the command uses: --learngene (a run folder stands for its final gene),
    else the final gene of the run the command starts from; None when neither is given and
    nothing needs one, a GTLError naming `needed_by` when something does."""
    from gtl_ray.run.result import final_gene_file

    given = args.learngene
    if given is not None:
        folder = run_folder(given)
        return final_gene_file(folder) if folder else given
    run = source_run(args, config)
    if run is not None:
        return final_gene_file(run)
    if needed_by:
        raise GTLError(
            f"{needed_by} needs a learngene: --learngene GENE, or a run folder in place of the config (its final gene)"
        )
    return None


def ray_console(args: argparse.Namespace) -> None:
    """Before a command that may start or join Ray: its output fit for a log (console.prepare)."""
    from gtl_ray.service.console import prepare

    prepare(getattr(args, "address", None))
