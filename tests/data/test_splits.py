"""`gtl-ray validate` checks a config's data without loading it (gtl_ray.data.splits.check_source
and each source's registered check)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from gtl_ray.cli import main
from gtl_ray.config import DataConfig, SplitsConfig
from gtl_ray.data import load_splits
from gtl_ray.data.splits import check_source
from gtl_ray.errors import DataError
from tests.data.test_cifar import cifar_files, write_cifar_folder, write_cifar_tar
from tests.data.test_folder import write_tree
from tests.data.test_parquet import image_table, png


def write_config(path, data: dict) -> str:
    path.write_text(
        yaml.safe_dump({"data": {"image_size": 32, **data}, "lifetime": {"n_way": 2}, "evaluation": {"n_way": 2}})
    )
    return str(path)


def test_validate_refuses_a_missing_data_path_naming_it(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", {"format": "folder", "path": str(tmp_path / "nowhere")})
    assert main(["validate", config]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gtl-ray: error: image folder '{tmp_path / 'nowhere'}' not found"]
    config = write_config(
        tmp_path / "p.yaml",
        {
            "format": "parquet",
            "splits": {"base": str(tmp_path / "train"), "val": None, "novel": str(tmp_path / "test")},
        },
    )
    assert main(["validate", config]) == 2
    assert "data.splits.base: Parquet location" in capsys.readouterr().err
    config = write_config(tmp_path / "x.yaml", {"format": "cifar100", "path": str(tmp_path / "cifar.tar.gz")})
    assert main(["validate", config]) == 2
    assert "data.path: CIFAR-100 location" in capsys.readouterr().err


def test_validate_says_what_it_checked_and_what_it_did_not(tmp_path, capsys):
    write_tree(tmp_path / "data", ["a", "b", "c", "d"], per_class=3)
    config = write_config(
        tmp_path / "c.yaml",
        {"format": "folder", "path": str(tmp_path / "data"), "splits": {"base": 2, "val": 0, "novel": 2}},
    )
    assert main(["validate", config]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{config}: valid")
    assert f"data (folder) checked: base: 2 classes, 6 image files under {tmp_path / 'data'}" in out
    assert "data (folder) checked: val: none" in out
    assert any(
        line.startswith("data (folder) not checked: only the first image of each split was decoded") for line in out
    )


def test_parquet_check_reads_footers_only(tmp_path):
    (tmp_path / "train").mkdir()
    pq.write_table(image_table([0, 1], "struct"), tmp_path / "train" / "a.parquet")
    pq.write_table(image_table([1, 2, 0], "struct"), tmp_path / "train" / "b.parquet")
    pq.write_table(
        pa.table({"image": [b"not an image"], "label": [0]}), tmp_path / "test.parquet"
    )  # decoding is left to load time
    config = DataConfig(
        format="parquet", path=str(tmp_path), splits=SplitsConfig(base="train", val=None, novel="test.parquet")
    )
    check = check_source(config)
    assert check.checked == [
        f"base: 2 Parquet files, 5 rows at {tmp_path / 'train'}",
        "val: none",
        f"novel: 1 Parquet file, 1 rows at {tmp_path / 'test.parquet'}",
    ]
    assert "decoded" in check.not_checked[0]
    pq.write_table(pa.table({"image": [png((1, 2, 3))], "label": [0.5]}), tmp_path / "float.parquet")
    with pytest.raises(DataError, match="float.parquet: label column 'label' has type double"):
        check_source(
            DataConfig(
                format="parquet", path=str(tmp_path), splits=SplitsConfig(base="train", val=None, novel="float.parquet")
            )
        )
    pq.write_table(pa.table({"picture": [png((1, 2, 3))], "label": [0]}), tmp_path / "nocol.parquet")
    with pytest.raises(DataError, match=r"nocol.parquet: no column 'image'"):
        check_source(
            DataConfig(
                format="parquet", path=str(tmp_path), splits=SplitsConfig(base="nocol.parquet", val=None, novel="train")
            )
        )
    (tmp_path / "junk.parquet").write_bytes(b"hello")
    with pytest.raises(DataError, match="cannot read Parquet file .*junk.parquet"):
        check_source(
            DataConfig(
                format="parquet", path=str(tmp_path), splits=SplitsConfig(base="junk.parquet", val=None, novel="train")
            )
        )


def test_cifar_check_folder_archive_and_class_counts(tmp_path):
    folder = write_cifar_folder(tmp_path / "c", cifar_files())
    assert check_source(DataConfig(format="cifar100", path=str(folder))).checked == [
        f"{folder}: train.bin, test.bin (300 records) and fine_label_names.txt readable"
    ]
    archive = write_cifar_tar(tmp_path / "c.tar.gz", cifar_files())
    assert check_source(DataConfig(format="cifar100", path=str(archive))).checked == [
        f"{archive}: a readable gzip archive"
    ]
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="neither a folder nor a .tar.gz"):
        check_source(DataConfig(format="cifar100", path=str(tmp_path / "junk.tar.gz")))
    with pytest.raises(DataError, match="65 classes asked but the CIFAR-FS base split has 64"):
        check_source(DataConfig(format="cifar100", path=str(folder), splits=SplitsConfig(base=65)))
    (folder / "test.bin").write_bytes(b"\0" * 10)
    with pytest.raises(DataError, match="test.bin: 10 bytes is not a whole number"):
        check_source(DataConfig(format="cifar100", path=str(folder)))


def test_unknown_format_lists_known_ones():
    config = DataConfig(format="tfrecord")
    with pytest.raises(DataError, match="cifar100, folder, glyphs, parquet, procedural"):
        load_splits(config)


# ---------------------------------------------------------------- no val split, per-split label spaces


def test_val_null_in_the_config_for_parquet_and_folder(tmp_path, caplog):
    from gtl_ray.preflight import load_config

    pq.write_table(image_table([0, 1, 0], "binary"), tmp_path / "train.parquet")
    pq.write_table(image_table([1, 0], "binary"), tmp_path / "test.parquet")  # labels restart at 0: its own label space
    parquet = load_config(
        None,
        [
            "data.format=parquet",
            f"data.path={tmp_path}",
            "data.image_size=32",
            "lifetime.n_way=2",
            "evaluation.n_way=2",
            "data.splits={base: train.parquet, val: null, novel: test.parquet}",
        ],
    )
    assert parquet.data.splits.val is None
    with caplog.at_level("WARNING", logger="gtl_ray.data.splits"):
        splits = load_splits(parquet.data)
    assert splits.val is None and splits.base.class_names == splits.novel.class_names == ("0", "1")
    assert "share class names" not in caplog.text  # int labels are per-split ids, not names
    write_tree(tmp_path / "tree" / "train", ["a", "b"])
    write_tree(tmp_path / "tree" / "test", ["c", "d"])
    folder = load_config(
        None,
        [
            "data.format=folder",
            f"data.path={tmp_path / 'tree'}",
            "data.image_size=32",
            "lifetime.n_way=2",
            "evaluation.n_way=2",
            "data.splits={base: train, val: null, novel: test}",
        ],
    )
    splits = load_splits(folder.data)
    assert splits.val is None and splits.novel.class_names == ("c", "d")
    write_tree(tmp_path / "flat", ["a", "b", "c", "d"])
    counts = load_config(
        None,
        [
            "data.format=folder",
            f"data.path={tmp_path / 'flat'}",
            "data.image_size=32",
            "lifetime.n_way=2",
            "evaluation.n_way=2",
            "data.splits={base: 2, val: null, novel: 2}",
        ],
    )
    assert load_splits(counts.data).val is None
    assert load_config(None, ["data.splits.val=null"]).data.splits.val is None  # procedural too


def test_shared_string_class_names_are_still_warned_about(tmp_path, caplog):
    pq.write_table(image_table(["cat", "dog"], "binary"), tmp_path / "train.parquet")
    pq.write_table(image_table(["cat", "7"], "binary"), tmp_path / "test.parquet")
    config = DataConfig(
        format="parquet",
        path=str(tmp_path),
        image_size=8,
        splits=SplitsConfig(base="train.parquet", val=None, novel="test.parquet"),
    )
    with caplog.at_level("WARNING", logger="gtl_ray.data.splits"):
        load_splits(config)
    assert "share class names ['cat']" in caplog.text
