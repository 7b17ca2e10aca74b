"""Per-episode scores as a Parquet file (zstd): one row per (data set, table, method, variant,
descendant size, seed, shots, episode), so that every mean, interval and paired difference of a
results table can be recomputed from the committed file alone, at the episode or the seed level.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gtl_ray.errors import EpisodeFileError
from gtl_ray.table_schema import TableSchema, column

EPISODES_VERSION = 1
SPLITS = ("base", "val", "novel")
_NAME = re.compile(r"[A-Za-z0-9_.:+=/ -]{0,128}")
KEY = ("dataset", "table", "method", "variant", "size", "seed", "shots", "episode")  #: unique per row


def _name(value: Any) -> bool:
    return bool(_NAME.fullmatch(value))


def _fraction(value: Any) -> bool:
    return math.isfinite(value) and 0.0 <= value <= 1.0


def _count(value: Any) -> bool:
    return value >= 0


_NAME_RULE = "at most 128 letters, digits, spaces and _.:+=/-"


@dataclass(frozen=True)
class EpisodeRow:
    """One method's score on one episode.

    `table` names the results table (e.g. `A-select`), `split` the classes the episode is drawn
    from and `stream` the named episode stream (`data.sampler`); `variant` the method's setting
    among candidates chosen on val ("" when it has none), `size` the descendant's; `seed` is the
    preparation seed (pre-training, evolution), paired seed with seed across methods. Accuracy and
    instinct are fractions; `sample_grads` is the episode's fine-tuning, `preparation_sample_grads`
    everything the method spent before any episode, every pre-training it needs included.
    """

    dataset: str = column(pa.string(), _name, rule=_NAME_RULE)
    table: str = column(pa.string(), _name, rule=_NAME_RULE)
    split: str = column(pa.string(), lambda v: v in SPLITS, rule=f"one of {', '.join(SPLITS)}")
    stream: str = column(pa.string(), _name, rule=_NAME_RULE)
    method: str = column(pa.string(), _name, rule=_NAME_RULE)
    variant: str = column(pa.string(), _name, rule=_NAME_RULE)
    size: str = column(pa.string(), _name, rule=_NAME_RULE)
    seed: int = column(pa.int64(), _count, rule=">= 0")
    shots: int = column(pa.int32(), lambda v: v >= 1, rule=">= 1")
    episode: int = column(pa.int32(), _count, rule=">= 0")
    accuracy: float = column(pa.float64(), _fraction, rule="a fraction in [0, 1]")
    instinct: float = column(pa.float64(), _fraction, rule="a fraction in [0, 1]")
    sample_grads: int = column(pa.int64(), _count, rule=">= 0")
    preparation_sample_grads: int = column(pa.int64(), _count, rule=">= 0")


EPISODES = TableSchema(
    EpisodeRow, "episode-score", "episodes", "gtl_ray.episodes_version", EPISODES_VERSION, EpisodeFileError, "zstd"
)


def _check_unique(table: pa.Table, source: str) -> None:
    keys = list(zip(*(table.column(k).to_pylist() for k in KEY)))
    seen: dict[tuple, int] = {}
    for index, key in enumerate(keys):
        if key in seen:
            raise EpisodeFileError(f"{source}: row {index} repeats row {seen[key]}: {dict(zip(KEY, key))}")
        seen[key] = index


def write_episodes(uri: str, rows: list[EpisodeRow]) -> None:
    """Write `rows` atomically as zstd Parquet, after checking that no key repeats."""
    table = EPISODES.to_table(rows)
    _check_unique(table, uri)
    EPISODES.write(uri, rows)


def read_episodes(uri: str) -> pa.Table:
    """The file's table after checking every column, every value and that no key repeats."""
    table = EPISODES.read_table(uri)
    _check_unique(table, uri)
    return table


def select(table: pa.Table, **equal: Any) -> pa.Table:
    """The rows whose columns equal the given values."""
    mask = None
    for name, value in equal.items():
        part = pc.equal(table.column(name), pa.scalar(value, table.schema.field(name).type))
        mask = part if mask is None else pc.and_(mask, part)
    return table if mask is None else table.filter(mask)


def score_matrix(table: pa.Table, value: str = "accuracy", **equal: Any) -> tuple[np.ndarray, list[int], list[int]]:
    """(seeds x episodes array of `value`, seeds, episodes) of the rows selected by `equal`, which
    must name one method, variant, size and shot count on a complete grid: every seed scored on
    the same episodes. An EpisodeFileError says what is missing."""
    rows = select(table, **equal)
    pairs = list(zip(rows.column("seed").to_pylist(), rows.column("episode").to_pylist()))
    seeds, episodes = sorted({s for s, _ in pairs}), sorted({e for _, e in pairs})
    if not seeds or len(seeds) * len(episodes) != rows.num_rows or len(set(pairs)) != len(pairs):
        raise EpisodeFileError(
            f"{equal}: {rows.num_rows} rows do not form one seeds x episodes grid "
            f"({len(seeds)} seeds, {len(episodes)} episodes)"
        )
    out = np.empty((len(seeds), len(episodes)))
    row_of, col_of = {s: i for i, s in enumerate(seeds)}, {e: j for j, e in enumerate(episodes)}
    for (s, e), v in zip(pairs, rows.column(value).to_pylist()):
        out[row_of[s], col_of[e]] = v
    return out, seeds, episodes
