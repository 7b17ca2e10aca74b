"""Parquet tables as contracts: a frozen dataclass declares the columns (Arrow type, nullability,
a rule every value must meet), and one `TableSchema` writes records atomically and reads them
back only after checking the file's declared size, every column's type and every value.

Used by the lineage (`evolution/lineage.py`) and the per-episode scores
(`evaluation/episode_file.py`): adding a column is adding a field to the record.
"""

from __future__ import annotations

from dataclasses import Field, asdict, dataclass, field, fields
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq

from gtl_ray import storage
from gtl_ray.errors import StorageError, quote


def column(
    arrow: pa.DataType,
    check: Callable[[Any], bool] | None = None,
    nullable: bool = False,
    rule: str = "",
    **default: Any,
) -> Any:
    """A column of a record dataclass: its Arrow type, whether it may be null, a check of every
    value (`rule` says it in words for the error message), and (`default=None`, nullable columns
    only) that files written before the column existed read as null in it."""
    return field(metadata={"arrow": arrow, "check": check, "nullable": nullable, "rule": rule}, **default)


def same_type(found: pa.DataType, expected: pa.DataType) -> bool:
    """Type equality, ignoring the name of a list's item field (Parquet writers differ)."""
    if pa.types.is_list(found) and pa.types.is_list(expected):
        return same_type(found.value_type, expected.value_type)
    return found == expected


@dataclass(frozen=True)
class TableSchema:
    """Args:
    record: the frozen dataclass whose fields are `column`s.
    noun: what the table is, in messages ("lineage").
    kind: the `storage.LIMITS` kind bounding the file and its declared uncompressed size.
    version_key, version: the schema metadata entry naming the format's version.
    error: the StorageError subclass raised for a bad file.
    compression: Parquet codec of written files.
    """

    record: type
    noun: str
    kind: str
    version_key: str
    version: int
    error: type[StorageError]
    compression: str = "snappy"

    @property
    def columns(self) -> tuple[Field, ...]:
        return fields(self.record)

    @property
    def arrow(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.metadata["arrow"], nullable=c.metadata["nullable"]) for c in self.columns],
            metadata={self.version_key: str(self.version)},
        )

    def to_table(self, records: list[Any]) -> pa.Table:
        return pa.Table.from_pylist([asdict(r) for r in records], schema=self.arrow)

    def write(self, uri: str, records: list[Any]) -> None:
        """Write `records` atomically (temp + rename)."""
        sink = pa.BufferOutputStream()
        pq.write_table(self.to_table(records), sink, compression=self.compression)
        storage.write_bytes_atomic(uri, sink.getvalue().to_pybytes())

    def read_table(self, uri: str) -> pa.Table:
        """The file's table with exactly the declared columns, after checking their types and
        every value; an `error` names the file, and the row and column at fault."""
        table = self._read(uri)
        for c in self.columns:
            if c.name not in table.column_names and c.default is None and c.metadata["nullable"]:
                table = table.append_column(
                    pa.field(c.name, c.metadata["arrow"]), pa.nulls(len(table), c.metadata["arrow"])
                )
            if c.name not in table.column_names:
                raise self.error(f"{uri}: {self.noun} table lacks column {c.name!r}")
            kind = table.schema.field(c.name).type
            if not same_type(kind, c.metadata["arrow"]):
                raise self.error(
                    f"{uri}: {self.noun} column {c.name!r} has type {kind}, expected {c.metadata['arrow']}"
                )
        table = table.select([c.name for c in self.columns])
        for c in self.columns:
            check = c.metadata["check"]
            for index, value in enumerate(table.column(c.name).to_pylist()):
                if value is None:
                    if not c.metadata["nullable"]:
                        raise self.error(f"{uri}: row {index}, column {c.name!r} is null")
                elif check is not None and not check(value):
                    raise self.error(
                        f"{uri}: row {index}, column {c.name!r} must be {c.metadata['rule']}, got {quote(value)}"
                    )
        return table

    def read(self, uri: str) -> list[Any]:
        """The file's records (`read_table`, one record per row)."""
        return [self.record(**row) for row in self.read_table(uri).to_pylist()]

    def _read(self, uri: str) -> pa.Table:
        """The table, read from a native file in this thread (no Python buffer reaches Arrow's I/O
        threads; see storage.open_random_access), after checking its declared uncompressed size."""
        try:
            with storage.open_random_access(uri, self.kind) as handle:
                parquet = pq.ParquetFile(handle, pre_buffer=False)
                meta = parquet.metadata
                declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
                if declared > storage.limit(self.kind):
                    raise self.error(
                        f"{uri}: {self.noun} table declares {declared} bytes uncompressed, "
                        f"more than {storage.limit(self.kind)}"
                    )
                return parquet.read(use_threads=False)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise self.error(
                f"{uri}: not a readable {self.noun} Parquet file: {' '.join(str(exc).split())[:200]}"
            ) from None
