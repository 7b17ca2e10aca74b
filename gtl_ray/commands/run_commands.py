"""`gtl-ray validate`, `evolve` and `config`: the commands about a run's config and its evolution."""

from __future__ import annotations

import argparse
import json

from gtl_ray.commands.options import command_config, ray_console, source_run


def cmd_validate(args: argparse.Namespace) -> int:
    """The config's values, then its data: paths exist and are readable (nothing decoded)."""
    config = command_config(args)
    from gtl_ray.data.splits import check_source
    from gtl_ray.preflight.room import total_demand

    check = check_source(config.data)
    where = args.config or source_run(args, config)
    plan = f"population {config.population.size}, {config.evolution.generations} generations"
    print(f"{where}: valid ({plan}, demand {total_demand(config)})")
    for line in check.checked:
        print(f"data ({config.data.format}) checked: {line}")
    for line in check.not_checked:
        print(f"data ({config.data.format}) not checked: {line}")
    return 0


def cmd_evolve(args: argparse.Namespace) -> int:
    """Run or resume an evolution on Ray; the results on stdout, then the commands to run next."""
    config = command_config(args)
    from gtl_ray.next_steps import after_evolve
    from gtl_ray.progress import evolve_progress
    from gtl_ray.service.run import evolve

    progress = evolve_progress(config, quiet=args.json)
    ray_console(args)
    outcome = evolve(
        config,
        resume=args.resume,
        force=args.force,
        overwrite=args.overwrite,
        address=args.address,
        config_path=args.config,
        progress=progress,
    )
    if args.json:
        print(json.dumps(outcome.__dict__, indent=1))
        return 0
    final_id = (outcome.final or {}).get("id")
    print(f"run: {outcome.run_dir}")
    print(f"generations completed: {outcome.generations_completed}")
    print(f"final learngene{' ' + final_id if final_id else ''}: {outcome.final_learngene}")
    if outcome.generations:
        # Generation 1 waits for the members' placement (in the start-up figures): the mean is
        # over the later ones when there are any.
        later = outcome.generations[1:] or outcome.generations
        lifetime = sum(g["timing"]["lifetime_max"] for g in later) / len(later)
        wall = sum(g["timing"]["wall"] for g in later) / len(later)
        which = f"generations 2-{len(outcome.generations)}" if len(outcome.generations) > 1 else "generation 1"
        print(
            f"wall time: {outcome.wall_seconds:.1f} s{_startup(outcome.startup)}; per generation ({which}) "
            f"{wall:.2f} s, of which lifetime {lifetime:.2f} s and other {wall - lifetime:.2f} s"
        )
    print("\n".join(after_evolve(outcome.run_dir)))
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """The effective config as YAML: a run's stored one (or a file's, defaults filled in), with
    any --set applied; `gtl-ray evolve` reads it back as it is."""
    config = command_config(args)
    from gtl_ray.yaml_loader import dump

    run = source_run(args, config)
    origin = f"stored in {run}/manifest.json" if run else f"read from {args.config}, defaults filled in"
    changed = " and --set" if args.set else ""
    print(f"# effective config of run {config.name!r} ({origin}{changed})")
    print(dump(config.to_dict()), end="")
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
