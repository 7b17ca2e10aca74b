"""Parquet data sets in the Hugging Face layout: one file or folder of shards per split.

Each row holds an encoded image (PNG/JPEG bytes, either a plain binary column or a struct with a
`bytes` field, as `datasets.Image` writes it) and an int or string label. Files are read through
gtl_ray.storage, so local paths and s3:// / gs:// / mock:// URIs work alike.

Each split (`data.splits.base` / `val` / `novel`: a file, or a folder whose *.parquet files below
it are the shards, relative to `data.path` unless absolute or a URI) is read on its own and is its
own label space: class ids are renumbered 0..k-1 from the split's sorted label values, so int
labels that restart at 0 in every split are fine. String labels are class names; a name found in
both base and novel is warned about. `val` may be left out (null): `Splits.val` is then None.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import torch

from gtl_ray import storage
from gtl_ray.config import DataConfig
from gtl_ray.data.imageset import ImageSet, decode_many
from gtl_ray.data.splits import (
    SPLIT_NAMES,
    DataCheck,
    Splits,
    is_empty_spec,
    register_check,
    register_source,
    warn_overlap,
)
from gtl_ray.errors import DataError, StorageError, quote


def parquet_files(location: str, split: str) -> tuple[pafs.FileSystem, list[str]]:
    """The Parquet file itself, or every *.parquet below a folder, sorted."""
    fs, path = storage.resolve(location)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise DataError(f"data.splits.{split}: Parquet location {location!r} not found")
    if info.type == pafs.FileType.File:
        return fs, [path]
    if info.type != pafs.FileType.Directory:
        raise DataError(f"data.splits.{split}: Parquet location {location!r} is neither a file nor a folder")
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    files = sorted(i.path for i in infos if i.type == pafs.FileType.File and i.path.endswith(".parquet"))
    if not files:
        raise DataError(f"data.splits.{split}: no .parquet files in folder {location!r}")
    return fs, files


def _check_image_type(kind: pa.DataType, name: str, where: str) -> None:
    """Encoded bytes: a binary column, or a struct with a binary `bytes` field."""
    if pa.types.is_struct(kind):
        fields = [kind.field(i).name for i in range(kind.num_fields)]
        if "bytes" not in fields:
            raise DataError(f"{where}: image column {name!r} is a struct without a 'bytes' field (fields: {fields})")
        if not (pa.types.is_binary(kind.field("bytes").type) or pa.types.is_large_binary(kind.field("bytes").type)):
            raise DataError(f"{where}: field 'bytes' of image column {name!r} has type {kind.field('bytes').type}")
    elif not (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
        raise DataError(f"{where}: image column {name!r} has type {kind}; expected encoded image bytes")


def _check_label_type(kind: pa.DataType, name: str, where: str) -> None:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if not (pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise DataError(f"{where}: label column {name!r} has type {kind}; expected int or string labels")


def _image_bytes(column: pa.ChunkedArray, name: str, where: str) -> list[bytes | None]:
    """The encoded bytes of an image column: plain binary, or the `bytes` field of a struct."""
    _check_image_type(column.type, name, where)
    if pa.types.is_struct(column.type):
        return [None if row is None else row["bytes"] for row in column.to_pylist()]
    return column.to_pylist()


def _shown(location: str, path: str) -> str:
    """A file as the user would write it (with the URI scheme when there is one)."""
    return (
        f"Parquet file {location.split('://', 1)[0]}://{path}" if storage.is_uri(location) else f"Parquet file {path}"
    )


def _footer(fs: pafs.FileSystem, path: str, shown: str, image_column: str, label_column: str) -> tuple[pa.Schema, int]:
    """(schema, rows) of a Parquet file from its footer, both columns present; read through the
    bounded opener (a native Arrow file), nothing decoded."""
    try:
        with storage.open_random_access(shown, "data", (fs, path)) as handle:
            parquet = pq.ParquetFile(handle)
            schema, rows = parquet.schema_arrow, parquet.metadata.num_rows
    except StorageError as exc:
        raise DataError(str(exc)) from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"cannot read {shown}: {' '.join(str(exc).split())[:300]}") from None
    missing = [c for c in (image_column, label_column) if c not in schema.names]
    if missing:
        raise DataError(f"{shown}: no column {missing[0]!r} (columns: {quote(schema.names, 300)})")
    return schema, rows


def _labels(column: pa.ChunkedArray, name: str, where: str) -> list[int] | list[str]:
    array = column.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    _check_label_type(array.type, name, where)
    if array.null_count:
        row = int(np.argmax(np.asarray(array.is_null())))
        raise DataError(f"{where}: label column {name!r} is null in row {row}")
    return array.to_pylist()


def _read_columns(parquet: pq.ParquetFile, shown: str, wanted: list[str]) -> pa.Table:
    """The wanted columns, after checking that they exist and that the file's declared
    uncompressed size stays within the data limit (Parquet pages are decompressed on read)."""
    columns = parquet.schema_arrow.names
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise DataError(f"{shown}: no column {missing[0]!r} (columns: {quote(columns, 300)})")
    meta = parquet.metadata
    declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if declared > storage.limit("data"):
        raise DataError(
            f"{shown}: declares {declared} bytes uncompressed, more than {storage.limit('data')} (set "
            "GTL_RAY_MAX_DATA_BYTES to allow more)"
        )
    return parquet.read(columns=wanted, use_threads=False)


def read_parquet_split(location: str, image_column: str, label_column: str, size: int, split: str = "base") -> ImageSet:
    """All rows of the Parquet file or folder at `location` as an ImageSet.

    Class names are the string labels, or str(label) for int labels, sorted (ints numerically).
    """
    fs, files = parquet_files(location, split)
    values: list[bytes | None] = []
    labels: list = []
    origin: list[tuple[str, int]] = []  # (file, first row index in `labels`)
    for path in files:
        shown = _shown(location, path)
        try:
            with storage.open_random_access(shown, "data", (fs, path)) as handle:
                table = _read_columns(pq.ParquetFile(handle), shown, [image_column, label_column])
        except StorageError as exc:
            raise DataError(str(exc)) from None
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(f"cannot read {shown}: {' '.join(str(exc).split())[:300]}") from None
        file_labels = _labels(table.column(label_column), label_column, shown)
        if labels and file_labels and type(file_labels[0]) is not type(labels[0]):
            raise DataError(f"{shown}: label column {label_column!r} mixes int and string labels with earlier files")
        origin.append((shown, len(labels)))
        values.extend(_image_bytes(table.column(image_column), image_column, shown))
        labels.extend(file_labels)
    if not labels:
        raise DataError(f"data.splits.{split}: Parquet split {location!r} is empty (0 rows)")

    starts = np.array([start for _, start in origin])

    def where(i: int) -> str:
        k = int(np.searchsorted(starts, i, side="right")) - 1
        return f"{origin[k][0]} row {i - origin[k][1]}"

    def fetch(i: int) -> bytes:
        if values[i] is None:
            raise DataError(f"image is null in {where(i)}")
        return values[i]

    images = decode_many(len(values), fetch, where, size)
    names = sorted(set(labels))
    index = {label: k for k, label in enumerate(names)}
    return ImageSet(
        images=torch.from_numpy(images),
        labels=torch.tensor([index[label] for label in labels], dtype=torch.int64),
        class_names=tuple(str(n) for n in names),
    )


def split_locations(config: DataConfig) -> dict[str, str | None]:
    """The Parquet location of each split (None: no such split); relative paths are taken under
    `data.path`."""
    out: dict[str, str | None] = {}
    for split in SPLIT_NAMES:
        spec = getattr(config.splits, split)
        if is_empty_spec(spec):
            out[split] = None
            continue
        if not isinstance(spec, str):
            raise DataError(f"data.splits.{split}: data.format=parquet needs a file or folder path, got {spec!r}")
        relative = config.path and not storage.is_uri(spec) and not spec.startswith("/")
        out[split] = storage.join(str(config.path), spec) if relative else spec
    if out["base"] is None or out["novel"] is None:
        raise DataError("data.splits: base and novel must not be empty for parquet")
    return out


@register_source("parquet")
def load_parquet(config: DataConfig) -> Splits:
    """Splits from one Parquet location per split; each split is its own label space (see
    `read_parquet_split`), and `val` may be absent (`splits.val` is then None)."""
    parts = {
        split: None
        if location is None
        else read_parquet_split(location, config.image_column, config.label_column, config.image_size, split)
        for split, location in split_locations(config).items()
    }
    splits = Splits(base=parts["base"], val=parts["val"], novel=parts["novel"])
    warn_overlap(splits, "parquet data")
    return splits


@register_check("parquet")
def check_parquet(config: DataConfig) -> DataCheck:
    """Every split's files exist and are Parquet files (footers read) with the image and label
    columns of the right types and at least one row; no image is decoded."""
    checked = []
    for split, location in split_locations(config).items():
        if location is None:
            checked.append(f"{split}: none")
            continue
        fs, files = parquet_files(location, split)
        rows = 0
        for path in files:
            shown = _shown(location, path)
            schema, count = _footer(fs, path, shown, config.image_column, config.label_column)
            _check_image_type(schema.field(config.image_column).type, config.image_column, shown)
            _check_label_type(schema.field(config.label_column).type, config.label_column, shown)
            rows += count
        if rows == 0:
            raise DataError(f"data.splits.{split}: Parquet split {location!r} is empty (0 rows)")
        checked.append(f"{split}: {len(files)} Parquet file{'s' if len(files) > 1 else ''}, {rows} rows at {location}")
    return DataCheck(
        checked,
        [
            "images are decoded and labels read (classes counted) only when evolve / evaluate load the data; a bad "
            "image then fails naming its file and row"
        ],
    )
