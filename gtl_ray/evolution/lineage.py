"""The family tree of a run: one record per member per generation, stored as Parquet."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import pyarrow as pa
import pyarrow.parquet as pq

from gtl_ray import storage
from gtl_ray.errors import StorageError

LINEAGE_VERSION = 1


def member_id(generation: int, member: int) -> str:
    return f"g{generation:04d}m{member:04d}"


@dataclass(frozen=True)
class LineageRecord:
    """One member's life. `parent` is None in generation 0 (random genes); `inherited_checksum`
    is the gene implanted at birth (after mutation), `gene_checksum` the gene passed on."""

    generation: int
    member: int
    id: str
    parent: str | None
    elite: bool
    mutation: str
    channels_mutated: int
    environment: list[int]
    fitness: float
    lifetime_seconds: float
    inherited_checksum: str | None
    gene_checksum: str


SCHEMA = pa.schema(
    [
        ("generation", pa.int32()),
        ("member", pa.int32()),
        ("id", pa.string()),
        ("parent", pa.string()),
        ("elite", pa.bool_()),
        ("mutation", pa.string()),
        ("channels_mutated", pa.int32()),
        ("environment", pa.list_(pa.int32())),
        ("fitness", pa.float64()),
        ("lifetime_seconds", pa.float64()),
        ("inherited_checksum", pa.string()),
        ("gene_checksum", pa.string()),
    ],
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
    """Read from a native Arrow file in this thread: Arrow's I/O threads must never hold a
    Python buffer (see storage.open_random_access)."""
    try:
        with storage.open_random_access(uri, "lineage") as handle:
            table = pq.ParquetFile(handle, pre_buffer=False).read(use_threads=False)
    except (pa.ArrowException, OSError) as exc:
        raise StorageError(f"{uri}: not a readable lineage Parquet file: {exc}") from None
    names = [f.name for f in fields(LineageRecord)]
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise StorageError(f"{uri}: lineage table lacks columns {missing}")
    return [LineageRecord(**{n: row[n] for n in names}) for row in table.to_pylist()]


def ancestry(records: list[LineageRecord], leaf_id: str) -> list[LineageRecord]:
    """The chain of records from `leaf_id` back to generation 0 (leaf first)."""
    by_id = {r.id: r for r in records}
    chain, current = [], by_id.get(leaf_id)
    while current is not None:
        chain.append(current)
        current = by_id.get(current.parent) if current.parent else None
    return chain
