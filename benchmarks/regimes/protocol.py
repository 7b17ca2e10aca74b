"""The numbers of `benchmarks/protocol.md` (version 2), in one place: data sets, seeds, episode
seed and counts, descendant sizes, the rest candidates chosen on val, the run profiles (regime A),
and regime B's recipe space, arms and profiles.

Change a number here only with a new protocol version in protocol.md (and never after looking at
a novel-class table of the version it replaces)."""

from __future__ import annotations

from dataclasses import dataclass

PROTOCOL_VERSION = 2
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


@dataclass(frozen=True)
class Regime:
    """What a regime's tables hold: their names, the arms in table order, the learngene arm the
    others are compared with, the equal-compute baselines of its decision rule, the sizes, and the
    protocol version that last changed its section (its tables say that version)."""

    protocol: int
    name: str  #: the file stem of its rendered tables (`regime_a`)
    title: str
    select: str  #: the val choices' table
    report: str  #: the novel table
    arms: tuple[str, ...]
    lead: str
    equal_compute: tuple[str, ...]
    sizes: tuple[str, ...]


REGIME_A = Regime(
    1,  # version 2 left regime A's section as version 1 wrote it
    "regime_a",
    "Regime A: one gene, many descendant sizes",
    SELECT,
    REPORT,
    ARMS,
    "learngene",
    EQUAL_COMPUTE,
    tuple(s.name for s in SIZES),
)

#: regime B: the recipe evolves with the gene; every arm at the ancestry's size (x1)
B_SIZE = "x1"
#: the recipe space of regime B's evolution and of its baselines' tuning (`evolution.recipe`)
RECIPE_SPACE = (
    ("lr", (0.003, 0.1)),
    ("lr_mult_early", (0.1, 10.0)),
    ("lr_mult_middle", (0.1, 10.0)),
    ("lr_mult_late", (0.1, 10.0)),
    ("lr_mult_head", (0.1, 10.0)),
    ("steps", (10, 40)),
    ("weight_decay", (0.00001, 0.001)),
    ("lifetime_lr", (0.005, 0.1)),
)
RECIPE_RESAMPLE = 0.25  #: evolution.recipe_resample: probability per value of a redraw on explore
#: the arms of regime B: the gene with its evolved recipe or the config's, the narrow and full
#: networks with a recipe tuned at equal compute (the decision's baselines) or the config's
B_ARMS = ("learngene+recipe", "learngene", "narrow+tuned", "full+tuned", "narrow", "full")
TUNED = {"narrow+tuned": "narrow", "full+tuned": "full"}  #: tuned arm -> the method whose recipe is tuned
REGIME_B = Regime(
    2,
    "regime_b",
    "Regime B: the recipe evolves with the gene",
    "B-select",
    "B-novel",
    B_ARMS,
    "learngene+recipe",
    tuple(TUNED),
    (B_SIZE,),
)


@dataclass(frozen=True)
class ProfileB:
    """Regime B's run size: regime A's profile `base` (seeds, overrides, rest candidates: the same
    narrow starts and rest choice), the selection episodes of each tuning trial, the novel
    episodes per cell, and the recipe space."""

    base: Profile
    tune_episodes: int  #: val selection episodes per tuning trial (5-shot)
    novel_episodes: int  #: novel episodes per arm, seed and shot count
    space: tuple[tuple[str, tuple[float, float]], ...] = RECIPE_SPACE

    @property
    def name(self) -> str:
        return self.base.name

    def evolution_overrides(self) -> tuple[str, ...]:
        """The recipe space and its resampling, as config overrides (evolution and tuning)."""
        space = ", ".join(f"{key}: [{low!r}, {high!r}]" for key, (low, high) in self.space)
        return ("evolution.recipe={" + space + "}", f"evolution.recipe_resample={RECIPE_RESAMPLE}")


def _short_steps(steps: tuple[int, int]) -> tuple[tuple[str, tuple[float, float]], ...]:
    """The protocol's space with a short `steps` range (the quick and tiny profiles)."""
    return tuple((key, steps if key == "steps" else value) for key, value in RECIPE_SPACE)


PROFILES_B = {
    p.name: p
    for p in (
        ProfileB(FULL, tune_episodes=4, novel_episodes=60),
        ProfileB(QUICK, tune_episodes=1, novel_episodes=2, space=_short_steps((2, 4))),
        ProfileB(TINY, tune_episodes=1, novel_episodes=1, space=_short_steps((2, 3))),
    )
}
