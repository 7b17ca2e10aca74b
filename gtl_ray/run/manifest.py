"""The run's manifest: what is complete, the strategy's state after it, and the final choice.

Written last and atomically after every generation, so a crash while writing leaves the previous
generation valid. Its dataclasses are the file format, spelled once: `to_json` writes them, and
`Manifest.from_json` reads them back through `schema.read_dataclass` (every field typed) and then
checks what types cannot say (counts that must agree, paths that must stay inside the run).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from gtl_ray import formats
from gtl_ray.errors import StorageError, quote
from gtl_ray.evolution.strategy import INITIAL, Parent
from gtl_ray.evolution.summary import GenerationSummary
from gtl_ray.run.layout import FINAL_GENE, elite_gene, parent_file
from gtl_ray.schema import read_dataclass

MANIFEST_VERSION = 2


@dataclass(frozen=True)
class GeneEntry:
    """A gene the strategy's state refers to: a Parent, with where its file is."""

    id: str
    fitness: float | None  #: None for the initial gene (its fitness is nan)
    averaged: list[str]
    path: str  #: relative to the run
    checksum: str
    recipe: dict[str, int | float] | None = None  #: the recipe passed on with the gene (`Recipe.to_json`)

    @classmethod
    def of(cls, parent: Parent, reptile: bool) -> "GeneEntry":
        fitness = None if math.isnan(parent.fitness) else parent.fitness
        path = parent_file(parent.id, INITIAL, reptile)
        recipe = None if parent.recipe is None else parent.recipe.to_json()
        return cls(parent.id, fitness, list(parent.averaged), path, parent.gene.checksum, recipe)


@dataclass(frozen=True)
class AssignmentEntry:
    member: int
    parent: str | None  #: the parent's id; None: a random gene
    elite: bool


@dataclass(frozen=True)
class StateEntry:
    """The strategy's `EvolutionState` with genes by reference."""

    generation: int
    parents: list[GeneEntry]
    assignments: list[AssignmentEntry]
    hall_of_fame: list[GeneEntry]
    leaders: list[GeneEntry]
    start: GeneEntry | None = None


@dataclass(frozen=True)
class FinalEntry:
    """The final learngene and its elites (`final.selection`)."""

    learngene: str
    checksum: str
    id: str
    elites: list[str]
    elite_checksums: list[str]
    elite_ids: list[str]
    selection: str
    scored_on: str | None
    val_scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """Args:
    name / seed / config / population / generations_planned: the run's settings.
    generations: one summary per completed generation.
    state: the strategy's state after the last completed generation.
    compute: sample-gradients spent, by where (pretrain, lifetime, fitness, final_selection, total).
    final: the final choice, once made.
    updated: when this manifest was written (seconds since the epoch).
    """

    version: int
    name: str
    seed: int
    config: dict
    population: int
    generations_planned: int
    generations_completed: int
    generations: list[GenerationSummary]
    state: StateEntry
    compute: dict[str, int]
    final: FinalEntry | None
    updated: float

    @property
    def done(self) -> int:
        """Generations completed."""
        return self.generations_completed

    @property
    def finished(self) -> bool:
        """Every planned generation lived and the final learngene chosen."""
        return self.final is not None and self.done >= self.generations_planned

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> "Manifest":
        """Parse (strict, bounded JSON), type every field, then check it (`check`)."""
        raw = formats.parse_json(data, where)
        if not isinstance(raw, dict):
            raise StorageError(f"{where}: not a gtl_ray manifest (a JSON object expected, got {type(raw).__name__})")
        if raw.get("version") != MANIFEST_VERSION:
            raise StorageError(
                f"{where}: field 'version' is {quote(raw.get('version'))}; "
                f"this gtl_ray reads manifest version {MANIFEST_VERSION}"
            )
        manifest = read_dataclass(cls, raw, where)
        manifest.check(where)
        return manifest

    def check(self, where: str) -> None:
        """Refuse a manifest whose counts disagree or whose paths leave the run, naming the
        field (a damaged manifest must never lead to deletions)."""

        def fail(key: str, why: str) -> None:
            raise StorageError(f"{where}: field {key!r} {why}")

        done = self.generations_completed
        if not 0 <= done == len(self.generations):
            fail("generations_completed", f"is {done} but {len(self.generations)} generation summaries are recorded")
        for i, summary in enumerate(self.generations):
            if summary.generation != i or len(summary.checksums) != self.population:
                fail(
                    f"generations[{i}]",
                    f"must describe generation {i} with one checksum per member ({self.population})",
                )
        self._check_state(fail)
        self._check_final(fail)

    def _check_state(self, fail) -> None:
        state = self.state
        if state.generation != self.generations_completed:
            fail("state", f"must hold generation {self.generations_completed}")
        if state.start is not None and state.start.id != INITIAL:
            fail("state.start", f"must be null or the {INITIAL!r} gene's entry")
        groups = {"parents": state.parents, "hall_of_fame": state.hall_of_fame, "leaders": state.leaders}
        groups["start"] = [state.start] if state.start is not None else []
        for key, entries in groups.items():
            for entry in entries:
                expected = [parent_file(entry.id, INITIAL, reptile) for reptile in (False, True)]
                if entry.path not in expected:
                    fail(
                        f"state.{key}",
                        f"path {quote(entry.path)} of {quote(entry.id)} is not inside the run (expected {expected[0]})",
                    )
        ids = {entry.id for entry in state.parents}
        if any(a.parent is not None and a.parent not in ids for a in state.assignments):
            fail("state.assignments", "entries need member, elite and a parent listed in state.parents")
        if len(state.assignments) != self.population:
            fail("state.assignments", f"must have one entry per member ({self.population})")

    def _check_final(self, fail) -> None:
        final = self.final
        if final is None:
            return
        if final.learngene != FINAL_GENE:
            fail("final", f"must name {FINAL_GENE} and its checksum, got {quote(final.learngene)}")
        places = range(1, len(final.elites) + 1)
        if final.elites != [elite_gene(p) for p in places] or len(final.elite_checksums) != len(final.elites):
            fail(
                "final.elites",
                f"must be final/elite-01.safetensors, ... with one checksum each, got {quote(final.elites)}",
            )
