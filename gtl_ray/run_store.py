"""A run's files under `storage` (a local folder or pyarrow.fs URI) — the run's real state,
written after every generation, and the one place that knows the layout:

    RUN/manifest.json                                 written last, atomically: what is complete
    RUN/lineage.parquet                               one row per member per generation so far
    RUN/initial/learngene.safetensors                 generation 0's gene (evolution.init: pretrained, narrow)
    RUN/generations/NNNN/member-MMMM.safetensors      every gene generation NNNN passed on
    RUN/generations/NNNN/offspring-MMMM.safetensors   reptile: what member MMMM's line passes on
    RUN/final/learngene.safetensors                   the final learngene (final.selection)
    RUN/final/elite-EE.safetensors                    the next best (evolution.elites of them)
    RUN/pretrained/                                   pre-trained networks (evaluation, init), cached
    RUN/descendants/                                  networks trained by `gtl-ray descend`
    RUN/tensorboard/                                  population figures, one event file per generation (step = generation)

A generation counts only once the manifest names it, so a crash while writing leaves the previous
generation valid; `clean_incomplete` removes what a crash left behind. The manifest also holds
the strategy's state after the last complete generation (parents, assignments, hall of fame), so
a resume continues exactly where the run stopped. Reads verify checksums.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from gtl_ray import formats, storage
from gtl_ray.config import DescendantShape, GTLConfig, describe_differences, from_dict
from gtl_ray.errors import StorageError, quote
from gtl_ray.evolution.lineage import LineageRecord, read_lineage, write_lineage
from gtl_ray.evolution.strategy import INITIAL, Assignment, EvolutionState, Parent
from gtl_ray.evolution.summary import GenerationSummary
from gtl_ray.learngene import Learngene

if TYPE_CHECKING:
    from gtl_ray.evolution.final import FinalChoice

MANIFEST_VERSION = 2
MANIFEST = "manifest.json"
LINEAGE = "lineage.parquet"
FINAL = "final/learngene.safetensors"
TENSORBOARD = "tensorboard"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_MEMBER = re.compile(r"g(\d{4,})m(\d{4,})")


def check_run_name(name: str) -> str:
    """A run name is one path segment (letters, digits, `-_.`; not `.` or `..`), so a run
    folder is always a proper child of its storage root."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise StorageError(f"run name {str(name)[:80]!r}: use 1-128 letters, digits, '-', '_' or '.' (not '.' or '..')")
    return name


class RunStore:
    """Reads and writes one run's directory (`root`/`name`), local or any pyarrow.fs URI."""

    def __init__(self, root: str, name: str):
        self.root = str(root)
        self.name = check_run_name(name)
        self.run_dir = storage.join(self.root, name)

    @classmethod
    def from_path(cls, run_dir: str) -> "RunStore":
        """The store of the run folder `run_dir` (its parent is the storage root)."""
        root, _, name = str(run_dir).rstrip("/").rpartition("/")
        return cls(root or ".", name)

    def path(self, *parts: str) -> str:
        return storage.join(self.run_dir, *parts)

    @property
    def final_learngene(self) -> str:
        return self.path(*FINAL.split("/"))

    @property
    def tensorboard_dir(self) -> str:
        return self.path(TENSORBOARD)

    @property
    def pretrained_dir(self) -> str:
        return self.path("pretrained")

    def descendant_path(self, shape: DescendantShape) -> str:
        return self.path("descendants", f"{shape.arch}-w{shape.width:g}.safetensors")

    def gene_path(self, generation: int, member: int) -> str:
        return self.path("generations", f"{generation:04d}", f"member-{member:04d}.safetensors")

    @staticmethod
    def parent_file(parent_id: str, reptile: bool) -> str:
        """Where a Parent's gene lives, relative to the run: the member's own gene file, or
        (reptile: a computed gene) its offspring file, or the initial gene."""
        if parent_id == INITIAL:
            return "initial/learngene.safetensors"
        match = _MEMBER.fullmatch(parent_id)
        if match is None:
            raise StorageError(f"parent id {parent_id[:40]!r} is neither {INITIAL!r} nor a member id like g0001m0002")
        g, m = int(match[1]), int(match[2])
        return f"generations/{g:04d}/{'offspring' if reptile else 'member'}-{m:04d}.safetensors"

    # -------------------------------------------------------------- writing

    def write_start(self, config: GTLConfig, state: EvolutionState, compute: dict[str, int]) -> None:
        """Before generation 0: the initial gene (if any) and a manifest counting no generation."""
        for parent in state.parents:
            if parent.id == INITIAL:
                parent.gene.save(self.path(self.parent_file(INITIAL, False)))
        self._write_manifest(config, [], state, compute, final=None)

    def write_generation(
        self,
        config: GTLConfig,
        summary: GenerationSummary,
        genes: list[Learngene],
        lineage: list[LineageRecord],
        earlier: list[GenerationSummary],
        state: EvolutionState,
        compute: dict[str, int],
    ) -> None:
        """Genes, offspring, lineage, then the manifest that makes the generation count."""
        for member, gene in enumerate(genes):
            gene.save(self.gene_path(summary.generation, member))
        if config.evolution.inheritance == "reptile":
            written: set[str] = set()
            for parent in state.parents + state.hall_of_fame + state.leaders:
                if parent.id.startswith(f"g{summary.generation:04d}m") and parent.id not in written:
                    parent.gene.save(self.path(self.parent_file(parent.id, True)))
                    written.add(parent.id)
        write_lineage(self.path(LINEAGE), lineage)
        self._write_manifest(config, earlier + [summary], state, compute, final=None)

    def write_final(
        self,
        config: GTLConfig,
        choice: FinalChoice,
        summaries: list[GenerationSummary],
        state: EvolutionState,
        compute: dict[str, int],
    ) -> None:
        final, elites = choice.final, choice.elites
        final.gene.save(self.final_learngene)
        for place, parent in enumerate(elites, start=1):
            parent.gene.save(self.path("final", f"elite-{place:02d}.safetensors"))
        record = {
            "learngene": FINAL,
            "checksum": final.gene.checksum,
            "id": final.id,
            "elites": [f"final/elite-{r:02d}.safetensors" for r in range(1, len(elites) + 1)],
            "elite_checksums": [p.gene.checksum for p in elites],
            "elite_ids": [p.id for p in elites],
            "selection": config.final.selection,
            "scored_on": choice.split,
            "val_scores": choice.val_scores,
        }
        self._write_manifest(config, summaries, state, compute, final=record)

    def _write_manifest(
        self,
        config: GTLConfig,
        summaries: list[GenerationSummary],
        state: EvolutionState,
        compute: dict[str, int],
        final: dict[str, Any] | None,
    ) -> None:
        manifest = {
            "version": MANIFEST_VERSION,
            "name": self.name,
            "seed": config.seed,
            "config": config.to_dict(),
            "population": config.population.size,
            "generations_planned": config.evolution.generations,
            "generations_completed": len(summaries),
            "generations": [asdict(s) for s in summaries],
            "state": self._state_record(state, config.evolution.inheritance == "reptile"),
            "compute": dict(compute),
            "final": final,
            "updated": time.time(),
        }
        storage.write_bytes_atomic(self.path(MANIFEST), json.dumps(manifest, indent=1, sort_keys=True).encode())

    def _state_record(self, state: EvolutionState, reptile: bool) -> dict[str, Any]:
        def ref(p: Parent) -> dict[str, Any]:
            fitness = None if math.isnan(p.fitness) else p.fitness
            return {
                "id": p.id,
                "fitness": fitness,
                "averaged": list(p.averaged),
                "path": self.parent_file(p.id, reptile),
                "checksum": p.gene.checksum,
            }

        return {
            "generation": state.generation,
            "parents": [ref(p) for p in state.parents],
            "assignments": [{"member": a.member, "parent": a.parent, "elite": a.elite} for a in state.assignments],
            "hall_of_fame": [ref(p) for p in state.hall_of_fame],
            "leaders": [ref(p) for p in state.leaders],
            "start": None if state.start is None else ref(state.start),
        }

    # -------------------------------------------------------------- reading

    def exists(self) -> bool:
        return storage.exists(self.path(MANIFEST))

    def read_manifest(self) -> dict[str, Any]:
        """The manifest, with the fields resume relies on checked (type and consistency)."""
        where = self.path(MANIFEST)
        if not self.exists():
            raise StorageError(f"no run at {self.run_dir} (no {MANIFEST}); start it without --resume")
        manifest = formats.read_json(where, "manifest")  # bounded size and nesting, strict JSON
        _check_manifest(manifest, where)
        return manifest

    def summaries(self, manifest: dict[str, Any]) -> list[GenerationSummary]:
        try:
            return [GenerationSummary(**s) for s in manifest["generations"]]
        except TypeError as exc:
            raise StorageError(
                f"{self.path(MANIFEST)}: field 'generations' has entries of the wrong shape: {exc}"
            ) from None

    def stored_config(self, manifest: dict[str, Any]) -> GTLConfig:
        return from_dict(manifest["config"])

    def config_differences(self, manifest: dict[str, Any], config: GTLConfig) -> list[str]:
        """Keys that differ between the stored run and `config` (storage location excluded)."""
        return describe_differences(self.stored_config(manifest), config, ignore=("storage",))

    def config_changes(self, manifest: dict[str, Any], config: GTLConfig) -> list[tuple[str, Any, Any]]:
        """(key, stored value, value in `config`) for every key of `config_differences`."""
        stored, new = self.stored_config(manifest).to_dict(), config.to_dict()
        return [(key, _dotted(stored, key), _dotted(new, key)) for key in self.config_differences(manifest, config)]

    def load_gene(self, relative: str, checksum: str) -> Learngene:
        """A gene of this run, verified against the checksum the manifest recorded."""
        uri = self.path(*relative.split("/"))
        gene = Learngene.load(uri)
        if gene.checksum != checksum:
            raise StorageError(f"{uri}: checksum {gene.checksum} differs from the manifest's {checksum}")
        return gene

    def load_generation(self, manifest: dict[str, Any], generation: int) -> list[Learngene]:
        """The genes generation `generation` passed on, each verified."""
        summary = self.summaries(manifest)[generation]
        return [
            self.load_gene(f"generations/{generation:04d}/member-{m:04d}.safetensors", c)
            for m, c in enumerate(summary.checksums)
        ]

    def load_state(self, manifest: dict[str, Any]) -> EvolutionState:
        """The strategy's state after the last complete generation, every gene verified."""
        record, cache = manifest["state"], {}

        def parent(ref: dict[str, Any]) -> Parent:
            if ref["path"] not in cache:
                cache[ref["path"]] = self.load_gene(ref["path"], ref["checksum"])
            fitness = math.nan if ref["fitness"] is None else float(ref["fitness"])
            return Parent(ref["id"], cache[ref["path"]], fitness, tuple(ref["averaged"]))

        assignments = tuple(
            Assignment(record["generation"], a["member"], a["parent"], a["elite"]) for a in record["assignments"]
        )
        start = record.get("start")  # absent in manifests written before it was kept
        return EvolutionState(
            record["generation"],
            tuple(map(parent, record["parents"])),
            assignments,
            tuple(map(parent, record["hall_of_fame"])),
            tuple(map(parent, record["leaders"])),
            None if start is None else parent(start),
        )

    def load_lineage(self, manifest: dict[str, Any]) -> list[LineageRecord]:
        """Lineage rows of completed generations only (a crash may have left later rows)."""
        done = manifest["generations_completed"]
        if done == 0:
            return []
        return [r for r in read_lineage(self.path(LINEAGE)) if r.generation < done]

    def clean_incomplete(self, manifest: dict[str, Any]) -> list[str]:
        """Delete what a crash left behind and the (already checked) manifest does not count:
        generation folders past the last complete one, and half-written temp files of atomic
        writes (`*.tmp-*`, in the run folder, final/ and the kept generation folders). Only ever
        inside this run's folder. Returns what was removed."""
        done = manifest["generations_completed"]
        removed, kept = [], []
        for entry in storage.list_dir(self.path("generations")):
            if entry.isdigit() and int(entry) >= done:
                storage.delete_dir(self.path("generations", entry))
                removed.append(entry)
            else:
                kept.append(("generations", entry))
        for folder in [(), ("final",), ("initial",), (TENSORBOARD,)] + kept:
            for entry in storage.list_dir(self.path(*folder)):
                if storage.TEMP_MARK in entry:
                    storage.delete_file(self.path(*folder, entry))
                    removed.append("/".join(folder + (entry,)))
        return removed


def _dotted(raw: dict[str, Any], key: str) -> Any:
    """The value at a dotted key of a nested dict (None where a level is missing)."""
    for part in key.split("."):
        raw = raw.get(part) if isinstance(raw, dict) else None
    return raw


def _check_manifest(manifest: Any, where: str) -> None:
    """Refuse a manifest whose fields resume or inspection rely on are missing, of the wrong
    type or inconsistent, naming the field (a damaged manifest must never lead to deletions)."""

    def fail(field: str, why: str) -> None:
        raise StorageError(f"{where}: field {field!r} {why}")  # `why` quotes values with errors.quote

    if not isinstance(manifest, dict):
        raise StorageError(f"{where}: not a gtl_ray manifest (a JSON object expected, got {type(manifest).__name__})")
    if manifest.get("version") != MANIFEST_VERSION:
        fail("version", f"is {quote(manifest.get('version'))}; this gtl_ray reads manifest version {MANIFEST_VERSION}")
    for key, kind in (
        ("name", str),
        ("seed", int),
        ("config", dict),
        ("population", int),
        ("generations_planned", int),
        ("generations_completed", int),
        ("generations", list),
        ("state", dict),
        ("compute", dict),
    ):
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            fail(key, f"must be a {kind.__name__}")
    done, summaries = manifest["generations_completed"], manifest["generations"]
    if not 0 <= done == len(summaries) or done > manifest["generations_planned"] + 10**6:
        fail("generations_completed", f"is {done} but {len(summaries)} generation summaries are recorded")
    for i, summary in enumerate(summaries):
        if (
            not isinstance(summary, dict)
            or summary.get("generation") != i
            or not isinstance(summary.get("checksums"), list)
            or len(summary["checksums"]) != manifest["population"]
        ):
            fail(
                f"generations[{i}]",
                f"must describe generation {i} with one checksum per member ({manifest['population']})",
            )
    state = manifest["state"]
    if state.get("generation") != done or not all(
        isinstance(state.get(k), list) for k in ("parents", "assignments", "hall_of_fame", "leaders")
    ):
        fail("state", f"must hold generation {done} with lists parents, assignments, hall_of_fame, leaders")
    if state.get("start") is not None and (not isinstance(state["start"], dict) or state["start"].get("id") != INITIAL):
        fail("state.start", f"must be null or the {INITIAL!r} gene's entry")
    refs = {key: state[key] for key in ("parents", "hall_of_fame", "leaders")}
    if state.get("start") is not None:
        refs["start"] = [state["start"]]
    for key, entries in refs.items():
        for ref in entries:
            if (
                not isinstance(ref, dict)
                or not isinstance(ref.get("id"), str)
                or not isinstance(ref.get("checksum"), str)
                or not isinstance(ref.get("averaged"), list)
                or not isinstance(ref.get("fitness"), (int, float, type(None)))
            ):
                fail(f"state.{key}", "entries need id, checksum, averaged and fitness")
            expected = [RunStore.parent_file(ref["id"], r) for r in (False, True)]
            if ref.get("path") not in expected:
                fail(
                    f"state.{key}",
                    f"path {quote(ref.get('path'))} of {quote(ref['id'])} is not inside the run (expected {expected[0]})",
                )
    ids = {ref["id"] for ref in state["parents"]}
    for a in state["assignments"]:
        if (
            not isinstance(a, dict)
            or not isinstance(a.get("member"), int)
            or not isinstance(a.get("elite"), bool)
            or (a.get("parent") is not None and a.get("parent") not in ids)
        ):
            fail("state.assignments", "entries need member, elite and a parent listed in state.parents")
    if len(state["assignments"]) != manifest["population"]:
        fail("state.assignments", f"must have one entry per member ({manifest['population']})")
    final = manifest.get("final")
    if final is not None and (
        not isinstance(final, dict) or final.get("learngene") != FINAL or not isinstance(final.get("checksum"), str)
    ):
        fail(
            "final",
            f"must name {FINAL} and its checksum, got {quote(final.get('learngene') if isinstance(final, dict) else final)}",
        )
    if final is not None:
        elites = final.get("elites")
        if (
            not isinstance(elites, list)
            or elites != [f"final/elite-{r:02d}.safetensors" for r in range(1, len(elites) + 1)]
            or not isinstance(final.get("elite_checksums"), list)
            or len(final["elite_checksums"]) != len(elites)
        ):
            fail("final.elites", f"must be final/elite-01.safetensors, ... with one checksum each, got {quote(elites)}")
