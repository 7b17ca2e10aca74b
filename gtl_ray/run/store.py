"""Reading and writing one run's files (`RunLayout`), local or any pyarrow.fs URI: IO only.

A generation counts only once the manifest names it: genes and lineage are written first, the
manifest last and atomically. Every gene read is verified against the checksum the manifest
recorded. A writer passes `guard` (the writer lease's check), which runs before every manifest
write and raises to stop it.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Callable, Iterable

from gtl_ray import storage
from gtl_ray.config import GTLConfig
from gtl_ray.errors import StorageError
from gtl_ray.evolution.lineage import LineageRecord, read_lineage, write_lineage
from gtl_ray.evolution.strategy import Assignment, EvolutionState, Parent
from gtl_ray.evolution.summary import GenerationSummary
from gtl_ray.learngene import Learngene
from gtl_ray.recipe import Recipe
from gtl_ray.run.layout import FINAL_GENE, INITIAL_GENE, RunLayout, elite_gene, member_gene
from gtl_ray.run.manifest import MANIFEST_VERSION, AssignmentEntry, FinalEntry, GeneEntry, Manifest, StateEntry

if TYPE_CHECKING:
    from gtl_ray.evolution.final import FinalChoice


class RunStore:
    """Reads and writes one run's folder (`root`/`name`); `guard` runs before each manifest write."""

    def __init__(self, root: str, name: str, guard: Callable[[], None] | None = None):
        self.layout = RunLayout(str(root), name)
        self.guard = guard

    @classmethod
    def from_path(cls, run_dir: str) -> "RunStore":
        """The store of the run folder `run_dir` (its parent is the storage root)."""
        layout = RunLayout.from_path(run_dir)
        return cls(layout.root, layout.name)

    @property
    def root(self) -> str:
        return self.layout.root

    @property
    def name(self) -> str:
        return self.layout.name

    @property
    def run_dir(self) -> str:
        return self.layout.run_dir

    def path(self, *parts: str) -> str:
        return self.layout.path(*parts)

    # -------------------------------------------------------------- writing

    def write_start(self, config: GTLConfig, state: EvolutionState, compute: dict[str, int]) -> None:
        """Before generation 0: the initial gene (if any) and a manifest counting no generation."""
        if state.start is not None:
            state.start.gene.save(self.path(INITIAL_GENE))
        self.write_manifest(config, [], state, compute)

    def write_generation(
        self,
        config: GTLConfig,
        genes: list[Learngene],
        lineage: list[LineageRecord],
        summaries: list[GenerationSummary],
        state: EvolutionState,
        compute: dict[str, int],
    ) -> None:
        """The last generation of `summaries`: its genes, the offspring the state refers to,
        the lineage, then the manifest that makes it count."""
        generation = summaries[-1].generation
        for member, gene in enumerate(genes):
            gene.save(self.path(member_gene(generation, member)))
        if config.evolution.inheritance == "reptile":
            for entry, parent in _distinct(state.parents + state.hall_of_fame + state.leaders, reptile=True):
                if parent.id.startswith(f"g{generation:04d}m"):
                    parent.gene.save(self.path(entry.path))
        write_lineage(self.layout.lineage, lineage)
        self.write_manifest(config, summaries, state, compute)

    def write_final(
        self,
        config: GTLConfig,
        choice: FinalChoice,
        summaries: list[GenerationSummary],
        state: EvolutionState,
        compute: dict[str, int],
    ) -> Manifest:
        """The final learngene and its elites, then the manifest that names them."""
        choice.final.gene.save(self.path(FINAL_GENE))
        places = list(enumerate(choice.elites, start=1))
        for place, parent in places:
            parent.gene.save(self.path(elite_gene(place)))
        final = FinalEntry(
            learngene=FINAL_GENE,
            checksum=choice.final.gene.checksum,
            id=choice.final.id,
            elites=[elite_gene(place) for place, _ in places],
            elite_checksums=[p.gene.checksum for p in choice.elites],
            elite_ids=[p.id for p in choice.elites],
            selection=config.final.selection,
            scored_on=choice.split,
            val_scores=dict(choice.val_scores),
        )
        return self.write_manifest(config, summaries, state, compute, final)

    def write_manifest(
        self,
        config: GTLConfig,
        summaries: list[GenerationSummary],
        state: EvolutionState,
        compute: dict[str, int],
        final: FinalEntry | None = None,
    ) -> Manifest:
        """The manifest of a run whose completed generations are `summaries`, written atomically
        once `guard` passed."""
        if self.guard is not None:
            self.guard()
        manifest = Manifest(
            version=MANIFEST_VERSION,
            name=self.name,
            seed=config.seed,
            config=config.to_dict(),
            population=config.population.size,
            generations_planned=config.evolution.generations,
            generations_completed=len(summaries),
            generations=list(summaries),
            state=_state_entry(state, config.evolution.inheritance == "reptile"),
            compute=dict(compute),
            final=final,
            updated=time.time(),
        )
        storage.write_bytes_atomic(self.layout.manifest, manifest.to_json())
        return manifest

    # -------------------------------------------------------------- reading

    def exists(self) -> bool:
        return storage.exists(self.layout.manifest)

    def read_manifest(self) -> Manifest:
        """The manifest, every field typed and checked (bounded read, strict JSON)."""
        if not self.exists():
            raise StorageError(
                f"no run at {self.run_dir} (no {self.layout.manifest.rsplit('/', 1)[-1]}); start it without --resume"
            )
        where = self.layout.manifest
        return Manifest.from_json(storage.read_bytes(where, "manifest"), where)

    def load_gene(self, relative: str, checksum: str) -> Learngene:
        """A gene of this run, verified against the checksum the manifest recorded."""
        uri = self.path(relative)
        gene = Learngene.load(uri)
        if gene.checksum != checksum:
            raise StorageError(f"{uri}: checksum {gene.checksum} differs from the manifest's {checksum}")
        return gene

    def load_generation(self, manifest: Manifest, generation: int) -> list[Learngene]:
        """The genes generation `generation` passed on, each verified."""
        checksums = manifest.generations[generation].checksums
        return [self.load_gene(member_gene(generation, m), c) for m, c in enumerate(checksums)]

    def load_state(self, manifest: Manifest) -> EvolutionState:
        """The strategy's state after the last complete generation, every gene verified."""
        entry, cache = manifest.state, {}

        def parent(ref: GeneEntry) -> Parent:
            if ref.path not in cache:
                cache[ref.path] = self.load_gene(ref.path, ref.checksum)
            fitness = math.nan if ref.fitness is None else float(ref.fitness)
            where = f"{self.layout.manifest}: state entry {ref.id}"
            recipe = None if ref.recipe is None else Recipe.from_json(ref.recipe, where, StorageError)
            return Parent(ref.id, cache[ref.path], fitness, tuple(ref.averaged), recipe)

        assignments = tuple(Assignment(entry.generation, a.member, a.parent, a.elite) for a in entry.assignments)
        return EvolutionState(
            entry.generation,
            tuple(map(parent, entry.parents)),
            assignments,
            tuple(map(parent, entry.hall_of_fame)),
            tuple(map(parent, entry.leaders)),
            None if entry.start is None else parent(entry.start),
        )

    def load_lineage(self, manifest: Manifest) -> list[LineageRecord]:
        """Lineage rows of completed generations only (a crash may have left later rows)."""
        if manifest.done == 0:
            return []
        return [r for r in read_lineage(self.layout.lineage) if r.generation < manifest.done]


def _distinct(parents: Iterable[Parent], reptile: bool) -> list[tuple[GeneEntry, Parent]]:
    seen: dict[str, tuple[GeneEntry, Parent]] = {}
    for p in parents:
        seen.setdefault(p.id, (GeneEntry.of(p, reptile), p))
    return list(seen.values())


def _state_entry(state: EvolutionState, reptile: bool) -> StateEntry:
    def entries(parents: tuple[Parent, ...]) -> list[GeneEntry]:
        return [GeneEntry.of(p, reptile) for p in parents]

    return StateEntry(
        generation=state.generation,
        parents=entries(state.parents),
        assignments=[AssignmentEntry(a.member, a.parent_id, a.elite) for a in state.assignments],
        hall_of_fame=entries(state.hall_of_fame),
        leaders=entries(state.leaders),
        start=None if state.start is None else GeneEntry.of(state.start, reptile),
    )
