"""The lineage table's schema (gtl_ray.evolution.lineage): column types, nulls, values and family
relations are checked on read, each violation naming the file, row and column; `ancestry`
cannot loop on a cycle. End to end through `gtl-ray inspect` on a stored run."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gtl_ray.errors import LineageError
from gtl_ray.evolution.lineage import COLUMNS, SCHEMA, LineageRecord, ancestry, member_id, read_lineage, to_table
from tests.end_to_end.test_bad_input import assert_refused, run_cli
from tests.helpers import store_run

CHECKSUM = "sha256:" + "ab" * 32


def record(generation: int, member: int, parent: str | None, **changes) -> LineageRecord:
    base = LineageRecord(
        generation,
        member,
        member_id(generation, member),
        parent,
        False,
        "gaussian",
        3,
        [1, 2],
        0.5,
        1.0,
        CHECKSUM if generation else None,
        CHECKSUM,
        [],
        0.5,
        100,
        0,
    )
    return dataclasses.replace(base, **changes)


def family() -> list[LineageRecord]:
    """Two generations of two members: g1m0 and g1m1 both descend from g0m1."""
    return [record(0, 0, None), record(0, 1, None), record(1, 0, "g0000m0001"), record(1, 1, "g0000m0001", elite=True)]


def write(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


def replaced(table: pa.Table, name: str, values: list, kind: pa.DataType | None = None) -> pa.Table:
    index = table.column_names.index(name)
    return table.set_column(
        index,
        pa.field(name, kind or table.schema.field(name).type),
        pa.array(values, type=kind or table.schema.field(name).type),
    )


def test_valid_table_round_trips_and_extra_columns_are_ignored(tmp_path):
    table = to_table(family())
    assert read_lineage(str(write(tmp_path / "a.parquet", table))) == family()
    extended = table.append_column("future_column", pa.array([1, 2, 3, 4]))
    assert read_lineage(str(write(tmp_path / "b.parquet", extended))) == family()


def test_schema_is_declared_once_by_the_record_fields():
    assert [c.name for c in COLUMNS] == SCHEMA.names == [f.name for f in dataclasses.fields(LineageRecord)]
    assert all("arrow" in c.metadata and "check" in c.metadata for c in COLUMNS)


@pytest.mark.parametrize(
    "case,names",
    [
        ("generation_as_text", ["column 'generation'", "type string", "expected int32"]),
        ("fitness_as_text", ["column 'fitness'", "type string"]),
        ("environment_of_text", ["column 'environment'", "string>", "expected list<item: int32>"]),
        ("elite_as_int", ["column 'elite'", "type int64"]),
        ("missing_column", ["lacks column 'gene_checksum'"]),
        ("null_id", ["row 2", "column 'id' is null"]),
        ("null_environment_entry", ["row 0", "column 'environment'"]),
        ("nan_fitness", ["row 1", "column 'fitness'", "[0, 1]"]),
        ("fitness_above_one", ["row 3", "column 'fitness'"]),
        ("negative_lifetime", ["row 0", "column 'lifetime_seconds'"]),
        ("negative_generation", ["row 0", "column 'generation'"]),
        ("bad_checksum", ["row 0", "column 'gene_checksum'", "sha256"]),
        ("long_mutation", ["row 0", "column 'mutation'"]),
        ("id_mismatch", ["row 0", "id 'g0009m0000' is not g0000m0000"]),
        ("duplicate_id", ["row 3", "also in row 2"]),
        ("parent_missing", ["row 2", "parent 'g0000m0007'", "generation 0"]),
        ("parent_same_generation", ["row 2", "parent 'g0001m0001'", "generation 0"]),
        ("parent_in_generation_0", ["row 0", "generation 0 has no parent"]),
        ("no_parent_later", ["row 3", "parent None"]),
    ],
)
def test_bad_tables_are_refused_naming_file_row_and_column(tmp_path, case, names):
    records = family()
    table = to_table(records)
    if case == "generation_as_text":
        table = replaced(table, "generation", ["0", "0", "1", "1"], pa.string())
    elif case == "fitness_as_text":
        table = replaced(table, "fitness", ["a", "b", "c", "d"], pa.string())
    elif case == "environment_of_text":
        table = replaced(table, "environment", [["x"]] * 4, pa.list_(pa.string()))
    elif case == "elite_as_int":
        table = replaced(table, "elite", [0, 0, 0, 1], pa.int64())
    elif case == "missing_column":
        table = table.drop_columns(["gene_checksum"])
    elif case == "null_id":
        table = replaced(table, "id", ["g0000m0000", "g0000m0001", None, "g0001m0001"], pa.string())
    elif case == "null_environment_entry":
        table = replaced(table, "environment", [[None], [1], [1], [1]])
    else:
        changes = {
            "nan_fitness": (1, {"fitness": float("nan")}),
            "fitness_above_one": (3, {"fitness": 1.5}),
            "negative_lifetime": (0, {"lifetime_seconds": -1.0}),
            "negative_generation": (0, {"generation": -1, "id": member_id(-1, 0)}),
            "bad_checksum": (0, {"gene_checksum": "md5:0"}),
            "long_mutation": (0, {"mutation": "m" * 1000}),
            "id_mismatch": (0, {"id": "g0009m0000"}),
            "duplicate_id": (3, {"member": 0, "id": "g0001m0000"}),
            "parent_missing": (2, {"parent": "g0000m0007"}),
            "parent_same_generation": (2, {"parent": "g0001m0001"}),
            "parent_in_generation_0": (0, {"parent": "g0000m0001"}),
            "no_parent_later": (3, {"parent": None}),
        }[case]
        records[changes[0]] = dataclasses.replace(records[changes[0]], **changes[1])
        table = to_table(records)
    path = write(tmp_path / f"{case}.parquet", table)
    with pytest.raises(LineageError) as info:
        read_lineage(str(path))
    for name in [f"{case}.parquet", *names]:
        assert name in str(info.value), str(info.value)


def test_files_that_are_not_lineage_tables(tmp_path):
    import os

    (tmp_path / "junk.parquet").write_bytes(b"PAR1 but not really PAR1")
    (tmp_path / "empty.parquet").write_bytes(b"")
    os.mkfifo(tmp_path / "fifo.parquet")
    for name, message in (
        ("junk.parquet", "not a readable lineage Parquet file"),
        ("empty.parquet", "not a readable"),
        ("fifo.parquet", "FIFO"),
    ):
        with pytest.raises(LineageError if name != "fifo.parquet" else Exception, match=message):
            read_lineage(str(tmp_path / name))


def test_declared_size_over_the_limit_is_refused(tmp_path, monkeypatch):
    """Parquet pages are decompressed on read: a small file declaring a large table is refused
    by its metadata, before a page is read."""
    rows = [record(0, m, None, mutation="m" * 200) for m in range(5000)]
    path = tmp_path / "big.parquet"
    pq.write_table(to_table(rows), path, compression="zstd", use_dictionary=False)
    assert path.stat().st_size < 100_000
    monkeypatch.setenv("GTL_RAY_MAX_LINEAGE_BYTES", "200000")
    with pytest.raises(
        LineageError, match="big.parquet: lineage table declares [0-9]+ bytes uncompressed, more than 200000"
    ):
        read_lineage(str(path))


def test_ancestry_stops_on_a_cycle():
    a = record(1, 0, "g0001m0001")
    b = record(1, 1, "g0001m0000")
    with pytest.raises(LineageError, match="cycle"):
        ancestry([a, b], a.id)
    chain = ancestry(family(), "g0001m0000")
    assert [r.id for r in chain] == ["g0001m0000", "g0000m0001"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    return store_run(tmp_path_factory.mktemp("lineage-run"))[1]


def test_inspect_refuses_a_run_whose_lineage_is_bad(capsys, stored, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(stored.run_dir, run)
    table = pq.read_table(run / "lineage.parquet")
    write(run / "lineage.parquet", replaced(table, "parent", ["g0000m0000"] * table.num_rows))
    assert_refused(*run_cli(capsys, "inspect", run), "lineage.parquet", "generation 0 has no parent")
    write(run / "lineage.parquet", replaced(table, "fitness", ["high"] * table.num_rows, pa.string()))
    assert_refused(*run_cli(capsys, "inspect", run), "lineage.parquet", "'fitness'")
    assert_refused(*run_cli(capsys, "report", run), "lineage.parquet", "'fitness'")
    assert not (run / "report").exists()


def test_a_lineage_written_before_the_recipe_column_reads_with_no_recipes(tmp_path):
    """Runs made before `evolution.recipe` existed stay readable (inspect, report, resume)."""
    path = tmp_path / "old.parquet"
    pq.write_table(to_table([record(0, 0, None), record(0, 1, None)]).drop_columns(["recipe"]), path)
    assert [r.recipe for r in read_lineage(str(path))] == [None, None]
