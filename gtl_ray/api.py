"""The Python entry points of a run on Ray, what `gtl-ray evolve` does from a script or notebook:

    run = gtl_ray.evolve("configs/quickstart.yaml", overrides={"learngene.share": 0.3}, name="share-0.3")
    run.final_gene, run.lineage.to_pandas(), run.per_generation, run.path
    gtl_ray.open_run("runs/quickstart")          # a finished or running run, read-only

Bad input raises a GTLError (before Ray starts, as in the CLI); a run that started and failed
raises RunFailed, whose message holds the command that resumes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gtl_ray.config_source import Source, load
from gtl_ray.run.result import RunResult, open_run


def evolve(
    config: Source = None,
    *,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    storage: str | Path | None = None,
    name: str | None = None,
    address: str | None = None,
    resume: bool = False,
    force: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> RunResult:
    """Run (or resume) an evolution on Ray and return its folder read back.

    Args:
        config: a YAML file, a run folder (its stored config; another `name` starts a new run
            with it), a `GTLConfig`, or None with `resume`: the run at `storage`/`name`.
        overrides: dotted keys to values (`{"learngene.share": 0.3}`), or `key=value` strings as
            `--set` takes them; with `resume` a changed value needs `force`.
        storage, name: where the run goes (default: the config's `storage` and `name`).
        address: the Ray cluster to join (default: the Ray this process already runs,
            RAY_ADDRESS, a local `ray start` cluster, else a new local Ray; "local": a new one).
        resume: continue from the last complete generation; `force`: accept a config that
            differs from the stored one; `overwrite`: replace an existing run of that name.
        progress: print the progress lines (run folder, generations, ETA) to stderr.
    """
    from gtl_ray.progress import evolve_progress
    from gtl_ray.service.run import evolve as evolve_on_ray

    checked = load(config, overrides, None if storage is None else str(storage), name)
    outcome = evolve_on_ray(
        checked,
        resume=resume,
        force=force,
        overwrite=overwrite,
        address=address,
        config_path=str(config) if isinstance(config, (str, Path)) else None,
        progress=evolve_progress(checked, quiet=not progress),
    )
    return RunResult(outcome.run_dir)


__all__ = ["RunResult", "evolve", "open_run"]
