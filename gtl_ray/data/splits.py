"""Class splits (base / val / novel) and the registry of data sources behind `load_splits`.

GTL evolves and pre-trains on base classes only and evaluates on novel classes only, so every
source returns a `Splits` whose base and novel class sets are disjoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from gtl_ray import storage
from gtl_ray.config import DataConfig, SplitSpec
from gtl_ray.data.imageset import ImageSet
from gtl_ray.errors import DataError
from gtl_ray.registry import Registry
from gtl_ray.seeding import numpy_rng

logger = logging.getLogger(__name__)

SPLIT_NAMES = ("base", "val", "novel")
CLASS_LIST_DIR = Path(__file__).with_name("splits")

Loader = Callable[[DataConfig], "Splits"]
SOURCES: Registry[Loader] = Registry("data.format", DataError)
Checker = Callable[[DataConfig], "DataCheck"]
CHECKS: Registry[Checker] = Registry("data.format", DataError)


@dataclass(frozen=True, eq=False)
class Splits:
    """The three class splits of a data set.

    Args:
        base: classes for evolution (environments) and ordinary pre-training.
        val: classes for model selection, or None when the source has none.
        novel: evaluation-only classes, disjoint from base.
    """

    base: ImageSet
    val: ImageSet | None
    novel: ImageSet


@dataclass
class DataCheck:
    """What a quick check of a data source found (`gtl-ray validate`), without loading it.

    Args:
        checked: one line per thing verified, e.g. "base: 3 files, 1200 rows at data/train".
        not_checked: one line per thing left to load time.
    """

    checked: list[str]
    not_checked: list[str]


def register_source(name: str) -> Callable[[Loader], Loader]:
    """Register a loader for `data.format = name`."""
    return SOURCES.register(name)


def register_check(name: str) -> Callable[[Checker], Checker]:
    """Register the quick check of `data.format = name`: paths exist and are readable, nothing decoded."""
    return CHECKS.register(name)


def list_sources() -> list[str]:
    """Names accepted by `data.format`."""
    return sorted(SOURCES.names())


def load_splits(config: DataConfig) -> Splits:
    """Load the data set described by `config` and split it by class."""
    return SOURCES.get(config.format)(config)


def check_source(config: DataConfig) -> DataCheck:
    """Check that the data `config` describes is there and readable, without decoding it; raises
    DataError naming the split, path or file at fault."""
    SOURCES.get(config.format)  # an unknown format lists the known ones
    if config.format not in CHECKS.names():
        return DataCheck(
            [], [f"data.format={config.format}: no quick check registered; the data is first read by evolve / evaluate"]
        )
    return CHECKS.get(config.format)(config)


def read_head(location: str, size: int) -> bytes:
    """The first `size` bytes of a file (local path or URI), to check it is readable and of the
    expected kind without reading all of it."""
    fs, path = storage.resolve(location)
    try:
        with fs.open_input_file(path) as handle:
            return handle.read(size)
    except OSError as exc:
        raise DataError(f"cannot read {location!r}: {exc}") from None


def read_class_list(name: str) -> list[str]:
    """A class list shipped in gtl_ray/data/splits/<name>.txt (one class name per line)."""
    path = CLASS_LIST_DIR / f"{name}.txt"
    if not path.is_file():
        raise DataError(f"no shipped class list {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def is_empty_spec(spec: SplitSpec | None) -> bool:
    """`val: 0` / `val: null` / an empty list mean "no split"."""
    return (
        spec is None
        or (isinstance(spec, int) and not isinstance(spec, bool) and spec == 0)
        or (isinstance(spec, list) and not spec)
    )


def assign_classes(
    class_names: Sequence[str], specs: dict[str, SplitSpec | None], seed: int, source: str
) -> dict[str, list[int] | None]:
    """Class ids of each split: lists claim the named classes, ints draw counts from the rest.

    The ints draw from the unclaimed classes shuffled by numpy_rng(seed, "split"), in the order
    base, val, novel, so an all-int spec is a seeded split by counts. None means no split.
    """
    index = {name: i for i, name in enumerate(class_names)}
    claimed: dict[int, str] = {}
    out: dict[str, list[int] | None] = {}
    counts: dict[str, int] = {}
    for split, spec in specs.items():
        if is_empty_spec(spec):
            out[split] = None
        elif isinstance(spec, list):
            missing = [str(n) for n in spec if str(n) not in index]
            if missing:
                raise DataError(
                    f"data.splits.{split}: classes {missing} not found in {source} "
                    f"(it has {len(index)} classes, e.g. {list(index)[:5]})"
                )
            ids = [index[str(n)] for n in spec]
            for cid in ids:
                if cid in claimed:
                    raise DataError(
                        f"data.splits.{split}: class {class_names[cid]!r} is also in split {claimed[cid]!r}"
                    )
                claimed[cid] = split
            out[split] = ids
        elif isinstance(spec, int) and not isinstance(spec, bool):
            counts[split] = int(spec)
        else:
            raise DataError(f"data.splits.{split}: {source} takes a class count or a list of class names, got {spec!r}")
    free = np.array([c for c in range(len(class_names)) if c not in claimed], dtype=np.int64)
    if sum(counts.values()) > len(free):
        asked = ", ".join(f"{s}={n}" for s, n in counts.items())
        raise DataError(
            f"data.splits: {asked} need {sum(counts.values())} classes but {source} has only {len(free)} unassigned "
            "classes"
        )
    free = free[numpy_rng(seed, "split").permutation(len(free))]
    start = 0
    for split, count in counts.items():
        out[split] = [int(c) for c in free[start : start + count]]
        start += count
    return out


def split_imageset(images: ImageSet, specs: dict[str, SplitSpec | None], seed: int, source: str) -> Splits:
    """Split one ImageSet holding all classes into base/val/novel by `assign_classes`."""
    ids = assign_classes(images.class_names, specs, seed, source)
    if ids["base"] is None or ids["novel"] is None:
        raise DataError(f"data.splits: base and novel must not be empty for {source}")
    parts = {s: (None if ids[s] is None else images.subset_classes(ids[s])) for s in SPLIT_NAMES}
    return Splits(base=parts["base"], val=parts["val"], novel=parts["novel"])


def split_specs(config: DataConfig) -> dict[str, SplitSpec | None]:
    return {s: getattr(config.splits, s) for s in SPLIT_NAMES}


def warn_overlap(splits: Splits, source: str) -> None:
    """Sources that take one location per split cannot guarantee disjoint classes; warn when base
    and novel share a class *name*.

    Integer labels are not names: Parquet exports and numbered class folders usually restart at 0
    in every split (each split its own label space), so a shared "3" says nothing and is not
    warned about. Not an error either way.
    """
    shared = sorted(set(splits.base.class_names) & set(splits.novel.class_names))
    named = [n for n in shared if not _is_int_label(n)]
    if named:
        logger.warning("%s: base and novel splits share class names %s (the same classes in both?)", source, named[:10])


def _is_int_label(name: str) -> bool:
    try:
        int(name)
    except ValueError:
        return False
    return True
