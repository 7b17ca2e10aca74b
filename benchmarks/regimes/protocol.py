"""The numbers of `benchmarks/protocol.md` (version 1), in one place: data sets, seeds, episode
seed and counts, descendant sizes, the rest candidates chosen on val, and the run profiles.

Change a number here only with a new protocol version in protocol.md (and never after looking at
a novel-class table of the version it replaces)."""

from __future__ import annotations

from dataclasses import dataclass

PROTOCOL_VERSION = 1
DATASETS = {"offline": "configs/quickstart.yaml", "glyphs": "configs/glyphs.yaml"}
EPISODE_SEED = 2300  #: evaluation.episode_seed: the same episodes for every method, size and seed
SHOTS = (1, 5)  #: reported tables, 5-way
SELECT_SHOTS = (5,)  #: what choices on val are made on
REPORT, SELECT = "A-novel", "A-select"  #: table names of regime A


@dataclass(frozen=True)
class Variant:
    """How a gene-implanting arm starts the rest of a wider or deeper descendant."""

    rest_init: str
    rest_scale: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.rest_init}-{self.rest_scale:g}" if self.rest_init == "scaled" else self.rest_init

    def overrides(self) -> tuple[str, ...]:
        return (f"evaluation.rest_init={self.rest_init}", f"evaluation.rest_scale={self.rest_scale}")


#: the candidates of every gene-implanting arm's rest, in tie-break order (alive: no zero scale)
REST_CANDIDATES = (
    Variant("default"),
    Variant("scaled", 0.3),
    Variant("scaled", 0.1),
    Variant("zero_cross"),
)
NO_VARIANT = Variant("none")  #: arms and sizes without a rest to choose (scratch, full, the gene's own size)


@dataclass(frozen=True)
class Size:
    """A descendant size of regime A, relative to the ancestry network (`model.*`)."""

    name: str
    arch: str | None = None  #: None: the ancestry's architecture
    width: float = 1.0  #: multiple of the ancestry's width
    gene_shaped: bool = False  #: the gene's own network (every layer cut to its gene block)


SIZES = (Size("gene", gene_shaped=True), Size("x1"), Size("x2", width=2.0), Size("deep", arch="vgg13"))
LIVE_SIZES = tuple(s for s in SIZES if not s.gene_shaped)  #: the sizes with a rest to choose on val

#: arms of regime A; the equal-compute ones spend what the learngene's whole evolution spends
ARMS = ("scratch", "full", "own/K", "narrow", "narrow-eq", "grow-eq", "learngene")
EQUAL_COMPUTE = ("own/K", "narrow-eq", "grow-eq")
GENE_ARMS = ("narrow", "narrow-eq", "learngene")  #: implant a gene: their rest is chosen on val

#: the evolution regime A runs: the shipped config's (aligned lifetimes, reptile, init narrow),
#: scored as descendants of the live sizes, with the rest narrow's val choice gives it
EVOLUTION = ("evolution.fitness=descendant", "evaluation.extra_layers=identity")


@dataclass(frozen=True)
class Profile:
    """How big a run is. `overrides` go into every config of the run."""

    name: str
    seeds: tuple[int, ...]
    select_episodes: int  #: val episodes per candidate, size and seed (5-shot)
    novel_episodes: int  #: novel episodes per arm, size, seed and shot count
    candidates: tuple[Variant, ...] = REST_CANDIDATES
    overrides: tuple[str, ...] = ()


FULL = Profile("full", seeds=(0, 1, 2, 3, 4), select_episodes=6, novel_episodes=10)
QUICK = Profile(  # every code path in minutes: meaningless numbers
    "quick",
    seeds=(0, 1),
    select_episodes=2,
    novel_episodes=2,
    candidates=REST_CANDIDATES[:2],
    overrides=(
        "model.width=0.125",
        "evolution.generations=2",
        "lifetime.epochs=2",
        "pretrain.epochs=1",
        "evaluation.steps=3",
        "evolution.fitness_episodes=1",
    ),
)
TINY = Profile(  # the smoke test: QUICK on a small procedural data set
    "tiny",
    seeds=(0, 1),
    select_episodes=1,
    novel_episodes=1,
    candidates=REST_CANDIDATES[:2],
    overrides=QUICK.overrides
    + (
        "data.num_classes=30",
        "data.images_per_class=24",
        "data.splits={base: 12, val: 8, novel: 8}",
        "evaluation.query=4",
        "lifetime.query_per_class=4",
        "population.size=2",
        "evolution.tournament_size=1",
    ),
)
PROFILES = {p.name: p for p in (FULL, QUICK, TINY)}
