"""A run's files under `storage` — the run's real state, written after every generation.

    RUN/generations/NNNN/member-MMMM.safetensors   every trained learngene of generation NNNN
    RUN/lineage.parquet                             one row per member per generation so far
    RUN/manifest.json                               written last, atomically: what is complete
    RUN/final/learngene.safetensors                 fittest gene of the last generation
    RUN/final/elite-EE.safetensors                  the next fittest (evolution.elites of them)

A generation counts only once the manifest names it, so a crash while writing leaves the previous
generation valid; `clean_incomplete` removes what a crash left behind. Reads verify checksums.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from gtl_ray import storage
from gtl_ray.config import GTLConfig, describe_differences, from_dict
from gtl_ray.errors import StorageError
from gtl_ray.evolution.lineage import LineageRecord, read_lineage, write_lineage
from gtl_ray.learngene import Learngene

MANIFEST_VERSION = 1
MANIFEST = "manifest.json"
LINEAGE = "lineage.parquet"


@dataclass
class GenerationSummary:
    generation: int
    fitness: dict[str, float]  #: min / median / max / mean
    best_member: int
    checksums: list[str]  #: per member, of the trained genes written
    timing: dict[str, float]  #: seconds: wall, lifetime_max, lifetime_mean, scheduling, checkpoint


class RunStore:
    """Reads and writes one run's directory (`storage`/`name`), local or any pyarrow.fs URI."""

    def __init__(self, root: str, name: str):
        self.root = root
        self.name = name
        self.run_dir = storage.join(root, name)

    def path(self, *parts: str) -> str:
        return storage.join(self.run_dir, *parts)

    @property
    def final_learngene(self) -> str:
        return self.path("final", "learngene.safetensors")

    def gene_path(self, generation: int, member: int) -> str:
        return self.path("generations", f"{generation:04d}", f"member-{member:04d}.safetensors")

    # -------------------------------------------------------------- writing

    def write_generation(self, config: GTLConfig, summary: GenerationSummary, genes: list[Learngene], lineage: list[LineageRecord], previous: list[GenerationSummary]) -> None:
        """Genes, then lineage, then the manifest that makes the generation count."""
        for member, gene in enumerate(genes):
            gene.save(self.gene_path(summary.generation, member))
        write_lineage(self.path(LINEAGE), lineage)
        self._write_manifest(config, previous + [summary], final=None)

    def write_final(self, config: GTLConfig, final: Learngene, elites: list[Learngene], summaries: list[GenerationSummary]) -> None:
        final.save(self.final_learngene)
        for rank, gene in enumerate(elites, start=1):
            gene.save(self.path("final", f"elite-{rank:02d}.safetensors"))
        self._write_manifest(config, summaries, final={"learngene": "final/learngene.safetensors", "checksum": final.checksum, "elites": [f"final/elite-{r:02d}.safetensors" for r in range(1, len(elites) + 1)], "elite_checksums": [g.checksum for g in elites]})

    def _write_manifest(self, config: GTLConfig, summaries: list[GenerationSummary], final: dict[str, Any] | None) -> None:
        manifest = {
            "version": MANIFEST_VERSION,
            "name": self.name,
            "seed": config.seed,
            "config": config.to_dict(),
            "population": config.population.size,
            "generations_planned": config.evolution.generations,
            "generations_completed": len(summaries),
            "generations": [s.__dict__ for s in summaries],
            "final": final,
            "updated": time.time(),
        }
        storage.write_bytes_atomic(self.path(MANIFEST), json.dumps(manifest, indent=1, sort_keys=True).encode())

    # -------------------------------------------------------------- reading

    def exists(self) -> bool:
        return storage.exists(self.path(MANIFEST))

    def read_manifest(self) -> dict[str, Any]:
        if not self.exists():
            raise StorageError(f"no run at {self.run_dir} (no {MANIFEST}); start it without --resume")
        try:
            manifest = json.loads(storage.read_bytes(self.path(MANIFEST)))
        except ValueError as exc:
            raise StorageError(f"{self.path(MANIFEST)}: not valid JSON: {exc}") from None
        if manifest.get("version") != MANIFEST_VERSION:
            raise StorageError(f"{self.path(MANIFEST)}: manifest version {manifest.get('version')!r}, expected {MANIFEST_VERSION}")
        return manifest

    def summaries(self, manifest: dict[str, Any]) -> list[GenerationSummary]:
        return [GenerationSummary(**s) for s in manifest["generations"]]

    def stored_config(self, manifest: dict[str, Any]) -> GTLConfig:
        return from_dict(manifest["config"])

    def config_differences(self, manifest: dict[str, Any], config: GTLConfig) -> list[str]:
        """Keys that differ between the stored run and `config` (storage location excluded)."""
        return describe_differences(self.stored_config(manifest), config, ignore=("storage",))

    def load_generation(self, manifest: dict[str, Any], generation: int) -> list[Learngene]:
        """The genes of a completed generation, each verified against the manifest's checksum."""
        summary = self.summaries(manifest)[generation]
        genes = []
        for member, expected in enumerate(summary.checksums):
            gene = Learngene.load(self.gene_path(generation, member))
            if gene.checksum != expected:
                raise StorageError(f"{self.gene_path(generation, member)}: checksum {gene.checksum} differs from the manifest's {expected}")
            genes.append(gene)
        return genes

    def load_lineage(self, manifest: dict[str, Any]) -> list[LineageRecord]:
        """Lineage rows of completed generations only (a crash may have left later rows)."""
        done = manifest["generations_completed"]
        if done == 0:
            return []
        return [r for r in read_lineage(self.path(LINEAGE)) if r.generation < done]

    def clean_incomplete(self, manifest: dict[str, Any]) -> list[str]:
        """Delete what a crash left behind and the manifest does not count: generation folders
        past the last complete one, and half-written temp files of atomic writes (`*.tmp-*`, in
        the run folder, final/ and the kept generation folders). Returns what was removed."""
        done = manifest["generations_completed"]
        removed = []
        kept = []
        for entry in storage.list_dir(self.path("generations")):
            if entry.isdigit() and int(entry) >= done:
                storage.delete_dir(self.path("generations", entry))
                removed.append(entry)
            else:
                kept.append(("generations", entry))
        for folder in [(), ("final",)] + kept:
            for entry in storage.list_dir(self.path(*folder)):
                if storage.TEMP_MARK in entry:
                    storage.delete_file(self.path(*folder, entry))
                    removed.append("/".join(folder + (entry,)))
        return removed
