"""A run folder read back, as `gtl_ray.open_run` and `gtl_ray.evolve` hand it to Python (what
Tune's `ResultGrid` is to a Tune experiment): the config, the per-generation summaries, the
lineage as an Arrow table, the final learngene and its elites, the evaluation when present.

Read-only and lease-free: it may be opened while the run is still being written (a running run
shows the generations its manifest counts; `refresh()` reads the newer manifest). Every gene is
verified against the checksum the manifest recorded. Torch-free (numpy and Arrow).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import pyarrow as pa

from gtl_ray import storage
from gtl_ray.config import GTLConfig, from_dict
from gtl_ray.errors import StorageError
from gtl_ray.evolution.lineage import to_table
from gtl_ray.evolution.summary import GenerationSummary
from gtl_ray.learngene import Learngene
from gtl_ray.run.manifest import Manifest
from gtl_ray.run.store import RunStore

FITNESS_KEYS = ("min", "median", "max", "mean")
EVALUATION = "evaluation.json"  #: what `gtl-ray evaluate RUN` writes, and `report` and `export` read


class RunResult:
    """One run folder, finished or still running.

    Args:
        path: the run folder (local path or pyarrow.fs URI: `s3://bucket/runs/name`).
    """

    def __init__(self, path: str):
        self.store = RunStore.from_path(str(path))
        self.manifest: Manifest = self.store.read_manifest()

    def __repr__(self) -> str:
        final = f"final {self.final_id}" if self.final_id else "no final gene yet"
        done = f"{self.generations_completed}/{self.manifest.generations_planned} generations"
        return f"RunResult({self.path!r}: {done}, {final})"

    def refresh(self) -> RunResult:
        """The same folder read again (a running run moves on)."""
        return RunResult(self.path)

    @property
    def path(self) -> str:
        return self.store.run_dir

    @property
    def name(self) -> str:
        return self.manifest.name

    @cached_property
    def config(self) -> GTLConfig:
        """The run's effective config, as stored (the latest, with any --force change)."""
        return from_dict(self.manifest.config)

    @property
    def generations_completed(self) -> int:
        return self.manifest.done

    @property
    def finished(self) -> bool:
        """Every planned generation lived and the final learngene chosen."""
        return self.manifest.finished

    @property
    def summaries(self) -> list[GenerationSummary]:
        """One per completed generation: fitness (min / median / max / mean, fractions), the best
        member, timing (seconds) and sample-gradients."""
        return list(self.manifest.generations)

    @property
    def per_generation(self) -> pa.Table:
        """The summaries as a table, one row per completed generation: fitness_min / _median /
        _max / _mean (fractions), best_member, seconds (wall_s, lifetime_max_s, ...) and
        sample_grads_lifetime / _fitness; `.to_pandas()` with pandas installed."""
        rows = []
        for s in self.manifest.generations:
            row: dict[str, Any] = {"generation": s.generation}
            row.update({f"fitness_{k}": s.fitness[k] for k in FITNESS_KEYS if k in s.fitness})
            row["best_member"] = s.best_member
            row.update({f"{k}_s": v for k, v in s.timing.items()})
            row.update({f"sample_grads_{k}": v for k, v in s.sample_grads.items()})
            rows.append(row)
        return pa.Table.from_pylist(rows)

    @property
    def compute(self) -> dict[str, int]:
        """Sample-gradients spent, by where (pretrain, lifetime, fitness, final_selection, total)."""
        return dict(self.manifest.compute)

    @cached_property
    def lineage(self) -> pa.Table:
        """One row per member per completed generation (`gtl_ray.evolution.lineage` columns:
        id, parent, elite, mutation, fitness, ...); `.to_pandas()` with pandas installed."""
        return to_table(self.store.load_lineage(self.manifest))

    @property
    def final_id(self) -> str | None:
        """The final learngene's id (a member such as g0005m0002, or `initial`), None until chosen."""
        return None if self.manifest.final is None else self.manifest.final.id

    @property
    def final_path(self) -> str | None:
        return None if self.manifest.final is None else self.store.path(self.manifest.final.learngene)

    @cached_property
    def final_gene(self) -> Learngene | None:
        """The final learngene, verified against the manifest; None until the run has chosen it."""
        final = self.manifest.final
        return None if final is None else self.store.load_gene(final.learngene, final.checksum)

    @cached_property
    def elites(self) -> list[Learngene]:
        """The next best genes (`evolution.elites` of them), verified, best first."""
        final = self.manifest.final
        if final is None:
            return []
        return [self.store.load_gene(p, c) for p, c in zip(final.elites, final.elite_checksums)]

    @property
    def evaluation(self) -> dict[str, list[dict[str, Any]]] | None:
        """The rows of RUN/evaluation.json (`gtl-ray evaluate RUN` writes it), each checked; None
        when the run was not evaluated."""
        from gtl_ray.evaluation.results_file import read_evaluation

        where = self.store.path(EVALUATION)
        return read_evaluation(where) if storage.exists(where) else None


def open_run(path: str) -> RunResult:
    """A run folder (finished or running), read-only: `open_run("runs/quickstart").final_gene`."""
    return RunResult(path)


def final_gene_file(run_dir: str) -> str:
    """The final learngene file of the run at `run_dir`, verified against its manifest; a
    StorageError naming the run when it has none yet."""
    run = RunResult(run_dir)
    if run.final_gene is None or run.final_path is None:  # the gene is read and verified here
        raise StorageError(f"{run_dir}: the run has no final learngene yet (still running or interrupted)")
    return run.final_path
