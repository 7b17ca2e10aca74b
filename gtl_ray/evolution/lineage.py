"""The family tree of a run: one record per member per generation, stored as Parquet."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq

from gtl_ray import storage
from gtl_ray.errors import GTLError, LineageError, quote
from gtl_ray.recipe import INTEGER_KEYS, RECIPE_KEYS, Recipe

LINEAGE_VERSION = 3


def member_id(generation: int, member: int) -> str:
    return f"g{generation:04d}m{member:04d}"


_CHECKSUM = re.compile(r"sha256:[0-9a-f]{64}")
MAX_TEXT = 256  #: characters in a text cell


def _column(
    arrow: pa.DataType,
    check: Callable[[Any], bool] | None = None,
    nullable: bool = False,
    rule: str = "",
    **default: Any,
) -> Any:
    """A lineage column: its Arrow type, whether it may be null, a check of every value, and
    (`default=`) the value of a record that does not set it."""
    return field(metadata={"arrow": arrow, "check": check, "nullable": nullable, "rule": rule}, **default)


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

    generation: int = _column(pa.int32(), _count, rule=">= 0")
    member: int = _column(pa.int32(), _count, rule=">= 0")
    id: str = _column(pa.string(), _text, rule=f"at most {MAX_TEXT} characters")
    parent: str | None = _column(pa.string(), _text, nullable=True, rule=f"at most {MAX_TEXT} characters")
    elite: bool = _column(pa.bool_())
    mutation: str = _column(pa.string(), _text, rule=f"at most {MAX_TEXT} characters")
    channels_mutated: int = _column(pa.int32(), _count, rule=">= 0")
    environment: list[int] = _column(
        pa.list_(pa.int32()),
        lambda v: len(v) <= 100_000 and all(c is not None and c >= 0 for c in v),
        rule="class ids >= 0",
    )
    fitness: float = _column(pa.float64(), lambda v: math.isfinite(v) and 0.0 <= v <= 1.0, rule="a fraction in [0, 1]")
    lifetime_seconds: float = _column(pa.float64(), lambda v: math.isfinite(v) and v >= 0.0, rule="finite and >= 0")
    inherited_checksum: str | None = _column(pa.string(), _checksum, nullable=True, rule="sha256:<64 hex digits>")
    gene_checksum: str = _column(pa.string(), _checksum, rule="sha256:<64 hex digits>")
    averaged: list[str] = _column(
        pa.list_(pa.string()),
        lambda v: len(v) <= 100_000 and all(isinstance(i, str) and _text(i) for i in v),
        rule=f"member ids of at most {MAX_TEXT} characters",
    )
    lifetime_accuracy: float = _column(
        pa.float64(), lambda v: math.isfinite(v) and 0.0 <= v <= 1.0, rule="a fraction in [0, 1]"
    )
    lifetime_sample_grads: int = _column(pa.int64(), _count, rule=">= 0")
    fitness_sample_grads: int = _column(pa.int64(), _count, rule=">= 0")
    recipe: dict[str, float] | None = _column(
        _RECIPE, _recipe, nullable=True, rule="a recipe (gtl_ray.recipe)", default=None
    )


COLUMNS = fields(LineageRecord)
SCHEMA = pa.schema(
    [pa.field(c.name, c.metadata["arrow"], nullable=c.metadata["nullable"]) for c in COLUMNS],
    metadata={"gtl_ray.lineage_version": str(LINEAGE_VERSION)},
)


def to_table(records: list[LineageRecord]) -> pa.Table:
    rows = [asdict(r) for r in records]
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def write_lineage(uri: str, records: list[LineageRecord]) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(to_table(records), sink)
    storage.write_bytes_atomic(uri, sink.getvalue().to_pybytes())


def read_lineage(uri: str) -> list[LineageRecord]:
    """The records of a lineage file, after checking every column (type, nulls, values) and
    the family relations (`check_relations`); a LineageError names the file, row and column. A
    column with a default (`recipe`), absent from a file written before it existed, reads as
    that default."""
    table = _read_table(uri)
    for column in COLUMNS:
        if column.name not in table.column_names and column.default is None:
            nulls = pa.nulls(len(table), column.metadata["arrow"])
            table = table.append_column(pa.field(column.name, column.metadata["arrow"]), nulls)
        if column.name not in table.column_names:
            raise LineageError(f"{uri}: lineage table lacks column {column.name!r}")
        kind = table.schema.field(column.name).type
        if not _same_type(kind, column.metadata["arrow"]):
            raise LineageError(
                f"{uri}: lineage column {column.name!r} has type {kind}, expected {column.metadata['arrow']}"
            )
    names = [c.name for c in COLUMNS]
    rows = table.select(names).to_pylist()
    for index, row in enumerate(rows):
        for column in COLUMNS:
            value, check = row[column.name], column.metadata["check"]
            if value is None:
                if not column.metadata["nullable"]:
                    raise LineageError(f"{uri}: row {index}, column {column.name!r} is null")
            elif check is not None and not check(value):
                raise LineageError(
                    f"{uri}: row {index}, column {column.name!r} must be {column.metadata['rule']}, got {quote(value)}"
                )
    records = [LineageRecord(**row) for row in rows]
    check_relations(records, uri)
    return records


def _same_type(found: pa.DataType, expected: pa.DataType) -> bool:
    """Type equality, ignoring the name of a list's item field (Parquet writers differ)."""
    if pa.types.is_list(found) and pa.types.is_list(expected):
        return _same_type(found.value_type, expected.value_type)
    return found == expected


def _read_table(uri: str) -> pa.Table:
    """The table, read from a native file in this thread (no Python buffer reaches Arrow's I/O
    threads; see storage.open_random_access), after checking its declared uncompressed size."""
    try:
        with storage.open_random_access(uri, "lineage") as handle:
            parquet = pq.ParquetFile(handle, pre_buffer=False)
            declared = sum(
                parquet.metadata.row_group(i).total_byte_size for i in range(parquet.metadata.num_row_groups)
            )
            if declared > storage.limit("lineage"):
                raise LineageError(
                    f"{uri}: lineage table declares {declared} bytes uncompressed, more than {storage.limit('lineage')}"
                )
            return parquet.read(use_threads=False)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise LineageError(f"{uri}: not a readable lineage Parquet file: {' '.join(str(exc).split())[:200]}") from None


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
