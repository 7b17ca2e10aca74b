"""Units of work, one frozen dataclass per kind, each deriving its own cache path from its fields:
a unit is computed once and read back from its file afterwards (an interrupted run resumes).

- `Study`: what every unit of one data set shares (profile overrides, work folder);
- `Pretraining`: one network pre-trained on the base classes (narrow, or a descendant size);
- `Evolution`: one evolution from one seed (regime A's, or regime B's: x1 only, a recipe evolving);
- `Start`: how an arm's descendant starts at one size (a key part of a `Scoring`);
- `Scoring`: one arm at one size, seed and rest variant on one table's episodes.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from benchmarks.regimes.protocol import DATASETS, EPISODE_SEED, LIVE_SIZES, NO_VARIANT, Variant
from gtl_ray.config import GTLConfig
from gtl_ray.preflight import load_config

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Study:
    """One data set under one profile; `work` holds every unit's file."""

    data: str
    overrides: tuple[str, ...]
    work: str

    def config(self, seed: int, *extra: str) -> GTLConfig:
        """The data set's config for preparation seed `seed`, episodes from the protocol's seed."""
        return load_config(
            ROOT / DATASETS[self.data],
            [
                *self.overrides,
                f"seed={seed}",
                f"evaluation.episode_seed={EPISODE_SEED}",
                f"storage={self.work}/runs",
                *extra,
            ],
        )

    @property
    def folder(self) -> Path:
        return Path(self.work, self.data)

    @property
    def cache(self) -> str:
        """gtl_ray's pre-training cache (file names digest every setting that shapes the weights)."""
        return str(self.folder / "pretrained")


@dataclass(frozen=True)
class Pretraining:
    """A network of one size (`gene`: the gene-shaped narrow network) pre-trained `epochs` epochs
    on all base classes from `seed`."""

    study: Study
    size: str
    epochs: int
    seed: int

    @property
    def path(self) -> Path:
        return self.study.folder / "units" / f"pretrain-{self.size}-e{self.epochs}-s{self.seed}.json"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Evolution:
    """An evolution from `seed`, its members' and fitness descendants' rest per `rest`, its fitness
    descendants drawn from `sizes`; `extra` config overrides beyond regime A's evolution (regime B:
    the recipe space)."""

    study: Study
    seed: int
    rest: Variant
    sizes: tuple[str, ...] = tuple(s.name for s in LIVE_SIZES)
    extra: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        """ "" for regime A's evolution (its file names and keys stay as they were), else a digest
        of what differs from it."""
        if self.sizes == tuple(s.name for s in LIVE_SIZES) and not self.extra:
            return ""
        return _digest(json.dumps([self.sizes, self.extra]))

    @property
    def path(self) -> Path:
        tag = f"-{self.tag}" if self.tag else ""
        return self.study.folder / "units" / f"evolve-{self.rest.name}{tag}-s{self.seed}.json"

    @property
    def gene_path(self) -> Path:
        return self.path.with_suffix(".safetensors")


@dataclass(frozen=True)
class Start:
    """How an arm's descendant starts: `scratch` (nothing transferred), `network` (a pre-trained
    network's backbone copied: `source` names it) or `gene` (a gene implanted); `source` is
    `narrow` (the gene-shaped network), `size` (the descendant's size itself), `grown` (the narrow
    network widened) or `evolved`; `epochs` the source's pre-training; `evolution` the evolution
    an evolved gene comes from."""

    kind: str
    source: str = ""
    epochs: int = 0
    evolution: Evolution | None = None

    @property
    def key(self) -> str:
        evolution = f"{self.evolution.rest.name}{self.evolution.tag}" if self.evolution else ""
        return f"{self.kind}:{self.source}:{self.epochs}:{evolution}"


@dataclass(frozen=True)
class Scoring:
    """One arm at one size and seed (and rest variant) on `episodes` episodes of one table;
    `recipe`: config overrides setting its fine-tuning recipe (none: the config's); `trial`: the
    recipe-search trial it scores (its rows' variant), if any."""

    study: Study
    table: str
    split: str  #: val (choices) or novel (the reported table)
    arm: str
    size: str
    seed: int
    start: Start
    variant: Variant = NO_VARIANT
    episodes: int = 1
    shots: tuple[int, ...] = (5,)
    preparation: int = 0  #: sample-gradients the arm spends before any episode to serve every size (recorded)
    recipe: tuple[str, ...] = ()
    trial: int | None = None

    @property
    def label(self) -> str:
        """The rows' variant: the trial, else the rest variant."""
        return f"trial-{self.trial:02d}" if self.trial is not None else self.variant.name

    @property
    def path(self) -> Path:
        digest = _digest(self.start.key + ("|" + "|".join(self.recipe) if self.recipe else ""))
        trial = "" if self.trial is None else f"-t{self.trial}"
        name = f"{self.arm.replace('/', '_')}-{self.variant.name}{trial}-{self.size}-s{self.seed}-e{self.episodes}"
        shots = "-".join(map(str, self.shots))
        return self.study.folder / "units" / self.table / f"{name}-k{shots}-{digest}.parquet"


def write_json(path: Path, value: Any) -> None:
    """Atomic: a crash never leaves half a unit file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, indent=1, sort_keys=True))
    tmp.replace(path)


def cached_json(path: Path, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The unit's figures from its file, or computed and written."""
    if path.exists():
        return json.loads(path.read_text())
    value = compute()
    write_json(path, value)
    return value
