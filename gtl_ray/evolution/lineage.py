"""The family tree of a run: one record per member per generation, stored as Parquet."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from gtl_ray.errors import GTLError, LineageError, quote
from gtl_ray.recipe import INTEGER_KEYS, RECIPE_KEYS, Recipe
from gtl_ray.table_schema import TableSchema, column

LINEAGE_VERSION = 3


def member_id(generation: int, member: int) -> str:
    return f"g{generation:04d}m{member:04d}"


_CHECKSUM = re.compile(r"sha256:[0-9a-f]{64}")
MAX_TEXT = 256  #: characters in a text cell


def _count(value: Any) -> bool:
    return value >= 0


def _text(value: Any) -> bool:
    return len(value) <= MAX_TEXT


def _checksum(value: Any) -> bool:
    return bool(_CHECKSUM.fullmatch(value))


def _recipe(value: Any) -> bool:
    try:
        Recipe.from_json(value, "lineage")
    except GTLError:
        return False
    return True


_RECIPE = pa.struct([(k, pa.int64() if k in INTEGER_KEYS else pa.float64()) for k in RECIPE_KEYS])


@dataclass(frozen=True)
class LineageRecord:
    """One member's life. `parent` is None in generation 0 (a random or the pre-trained gene);
    `inherited_checksum` is the gene implanted at birth (after mutation), `gene_checksum` the
    gene passed on; `averaged` the members whose learning steps moved the parent's gene
    (reptile); `fitness` is the selection score, `lifetime_accuracy` the carrier's own query
    accuracy after its lifetime; sample-gradients count images forwarded and back-propagated;
    `recipe` is the one the member lived and was scored with (`Recipe.to_json`; None without
    `evolution.recipe`).

    Each field declares its Parquet column (type, nullability, value rule): adding a column is
    adding a field here; SCHEMA and the checks of `read_lineage` follow from these.
    """

    generation: int = column(pa.int32(), _count, rule=">= 0")
    member: int = column(pa.int32(), _count, rule=">= 0")
    id: str = column(pa.string(), _text, rule=f"at most {MAX_TEXT} characters")
    parent: str | None = column(pa.string(), _text, nullable=True, rule=f"at most {MAX_TEXT} characters")
    elite: bool = column(pa.bool_())
    mutation: str = column(pa.string(), _text, rule=f"at most {MAX_TEXT} characters")
    channels_mutated: int = column(pa.int32(), _count, rule=">= 0")
    environment: list[int] = column(
        pa.list_(pa.int32()),
        lambda v: len(v) <= 100_000 and all(c is not None and c >= 0 for c in v),
        rule="class ids >= 0",
    )
    fitness: float = column(pa.float64(), lambda v: math.isfinite(v) and 0.0 <= v <= 1.0, rule="a fraction in [0, 1]")
    lifetime_seconds: float = column(pa.float64(), lambda v: math.isfinite(v) and v >= 0.0, rule="finite and >= 0")
    inherited_checksum: str | None = column(pa.string(), _checksum, nullable=True, rule="sha256:<64 hex digits>")
    gene_checksum: str = column(pa.string(), _checksum, rule="sha256:<64 hex digits>")
    averaged: list[str] = column(
        pa.list_(pa.string()),
        lambda v: len(v) <= 100_000 and all(isinstance(i, str) and _text(i) for i in v),
        rule=f"member ids of at most {MAX_TEXT} characters",
    )
    lifetime_accuracy: float = column(
        pa.float64(), lambda v: math.isfinite(v) and 0.0 <= v <= 1.0, rule="a fraction in [0, 1]"
    )
    lifetime_sample_grads: int = column(pa.int64(), _count, rule=">= 0")
    fitness_sample_grads: int = column(pa.int64(), _count, rule=">= 0")
    recipe: dict[str, float] | None = column(
        _RECIPE, _recipe, nullable=True, rule="a recipe (gtl_ray.recipe)", default=None
    )


LINEAGE = TableSchema(LineageRecord, "lineage", "lineage", "gtl_ray.lineage_version", LINEAGE_VERSION, LineageError)
COLUMNS = LINEAGE.columns
SCHEMA = LINEAGE.arrow


def to_table(records: list[LineageRecord]) -> pa.Table:
    return LINEAGE.to_table(records)


def write_lineage(uri: str, records: list[LineageRecord]) -> None:
    LINEAGE.write(uri, records)


def read_lineage(uri: str) -> list[LineageRecord]:
    """The records of a lineage file, after checking every column (type, nulls, values) and
    the family relations (`check_relations`); a LineageError names the file, row and column. A
    column with a default (`recipe`), absent from a file written before it existed, reads as
    null."""
    records = LINEAGE.read(uri)
    check_relations(records, uri)
    return records


def check_relations(records: list[LineageRecord], source: str) -> None:
    """Ids are member_id(generation, member) and unique; generation 0 has no parents and every
    later member's parent (and every member averaged into its gene) is a member of the
    generation before."""
    rows: dict[str, int] = {}
    for index, r in enumerate(records):
        if r.id != member_id(r.generation, r.member):
            raise LineageError(
                f"{source}: row {index}: id {quote(r.id)} is not {member_id(r.generation, r.member)} (generation "
                f"{r.generation}, member {r.member})"
            )
        if r.id in rows:
            raise LineageError(f"{source}: row {index}: id {r.id} also in row {rows[r.id]}")
        rows[r.id] = index
    for index, r in enumerate(records):
        if r.generation == 0 and r.parent is not None:
            raise LineageError(f"{source}: row {index} ({r.id}): generation 0 has no parent, got {quote(r.parent)}")
        parent = rows.get(r.parent) if isinstance(r.parent, str) else None
        if r.generation > 0 and (parent is None or records[parent].generation != r.generation - 1):
            raise LineageError(
                f"{source}: row {index} ({r.id}): parent {quote(r.parent)} is not a member of generation "
                f"{r.generation - 1}"
            )
        for averaged in r.averaged:
            if rows.get(averaged) is None or records[rows[averaged]].generation != r.generation - 1:
                raise LineageError(
                    f"{source}: row {index} ({r.id}): averaged member {quote(averaged)} is not a member of "
                    f"generation {r.generation - 1}"
                )


def ancestry(records: list[LineageRecord], leaf_id: str) -> list[LineageRecord]:
    """The chain of records from `leaf_id` back to generation 0 (leaf first); a LineageError if
    the parents form a cycle (impossible in a table read by `read_lineage`)."""
    by_id = {r.id: r for r in records}
    chain, seen, current = [], set(), by_id.get(leaf_id)
    while current is not None:
        if current.id in seen:
            raise LineageError(f"lineage: the parents of {leaf_id} form a cycle through {current.id}")
        seen.add(current.id)
        chain.append(current)
        current = by_id.get(current.parent) if current.parent else None
    return chain
