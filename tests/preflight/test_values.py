"""Value checks added for hostile configs (gtl_ray.preflight): the run name is one path
segment, every section (descend, pretrain, evaluation.descendant) is checked under its own key,
counts and sizes are bounded, and storage must persist and be a folder — all before Ray starts
and before anything is written."""

from __future__ import annotations

import pytest

from tests.conftest import tiny
from tests.end_to_end.test_bad_input import assert_refused, nothing_written, run_cli
from tests.helpers import write_config


@pytest.fixture
def config_file(tmp_path):
    return write_config(tmp_path / "config.yaml", tmp_path / "runs", "checks")


@pytest.mark.parametrize("name", ["..", ".", "a/b", "../escape", "a\\b", "", "n" * 129, "sp ace", "a\0b", "~root", "*"])
def test_name_is_one_path_segment(capsys, config_file, tmp_path, name):
    storage = tmp_path / "runs"
    line = assert_refused(
        *run_cli(capsys, "validate", config_file, "--name", name)
        if name
        else run_cli(capsys, "validate", config_file, "--set", "name=''"),
        "name",
    )
    assert "path segment" in line or "string" in line
    assert nothing_written(storage) and not (tmp_path / "runs").exists()


def test_name_in_the_file_with_a_nul_byte(capsys, tmp_path):
    path = write_config(tmp_path / "c.yaml", tmp_path / "runs", "ok")
    path.write_text(path.read_text().replace("name: ok", 'name: "ok\\0"'))
    assert_refused(*run_cli(capsys, "validate", path), "name", "NUL")


@pytest.mark.parametrize("name", ["run-1", "quick_start.v2", "A" * 128, "..a", "a..b"])
def test_good_names(tmp_path, name):
    assert tiny(storage=tmp_path, name=name).name == name


@pytest.mark.parametrize(
    "override,names",
    [
        ("descend.epochs=0", ["descend.epochs", ">= 1"]),
        ("descend.batch_size=0", ["descend.batch_size", ">= 1"]),
        ("descend.lr=0", ["descend.lr", "> 0"]),
        ("descend.lr=.inf", ["descend.lr", "finite"]),
        ("descend.num_workers=5000", ["descend.num_workers", "<= 1024"]),
        ("descend.train_per_class=-1", ["descend.train_per_class"]),
        ("descend.use_gpu=maybe", ["descend.use_gpu", "true or false"]),
        ("pretrain.batch_size=0", ["pretrain.batch_size", ">= 1"]),
        ("pretrain.epochs=10000000", ["pretrain.epochs", "<= 1000000"]),
        ("pretrain.momentum=1", ["pretrain.momentum"]),
        ("evaluation.descendant.depth=12", ["evaluation.descendant.depth", "VGG depth"]),
        ("evaluation.descendant.depth=0", ["evaluation.descendant.depth", "between 1 and 32"]),
        ("evaluation.descendant.width=0", ["evaluation.descendant.width", "> 0"]),
        ("evaluation.descendant.width=100", ["evaluation.descendant.width", "<= 16"]),
        ("evaluation.episodes=1000000000", ["evaluation.episodes", "<= 1000000"]),
        ("evaluation.shots=[1, 10000000]", ["evaluation.shots", "<= 1000000"]),
        ("evaluation.shots=[[1]]", ["evaluation.shots"]),
        ("evaluation.methods=[[learngene]]", ["evaluation.methods", "unknown method"]),
        ("evaluation.steps=-1", ["evaluation.steps", ">= 0"]),
        ("model.width=64", ["model.width", "<= 16"]),
        ("model.depth=1000000", ["model.depth", "between 1 and 32"]),
        ("data.image_size=40000", ["data.image_size", "<= 1024"]),
        ("data.num_classes=1000000000", ["data.num_classes"]),
        ("data.images_per_class=1000000", ["data.images_per_class", "bytes"]),
        ("data.seed=-1", ["data.seed", ">= 0"]),
        ("data.splits={base: [[a]], val: 0, novel: 10}", ["data.splits.base"]),
        ("population.size=1000000", ["population.size", "<= 100000"]),
        ("population.cpus_per_member=100000", ["population.cpus_per_member", "<= 1024"]),
        ("evolution.generations=100000000", ["evolution.generations", "<= 1000000"]),
        ("lifetime.epochs=0", ["lifetime.epochs", ">= 1"]),
        ("lifetime.batch_size=10000000", ["lifetime.batch_size"]),
    ],
)
def test_every_section_is_checked_under_its_own_key(capsys, config_file, tmp_path, override, names):
    line = assert_refused(*run_cli(capsys, "validate", config_file, "--set", override), *names)
    if override.startswith("evaluation.descendant.depth"):
        assert "model.depth" not in line
    assert nothing_written(tmp_path / "runs")


@pytest.mark.parametrize(
    "storage,names",
    [
        ("mock://runs", ["storage", "'mock'"]),
        ("ftp://host/runs", ["storage", "'ftp'"]),
        ("FILE", ["storage", "is a file, not a folder"]),
        ("FILE/runs", ["storage", "which is a file"]),
    ],
)
def test_storage_must_persist_and_be_a_folder_before_ray_starts(
    capsys, config_file, tmp_path, monkeypatch, storage, names
):
    monkeypatch.delenv("GTL_RAY_ALLOW_MOCK_STORAGE", raising=False)
    (tmp_path / "file").write_text("not a folder")
    storage = storage.replace("FILE", str(tmp_path / "file"))
    for command in ("validate", "evolve"):
        assert_refused(*run_cli(capsys, command, config_file, "--storage", storage), *names)
    assert (tmp_path / "file").read_text() == "not a folder"


def test_file_uri_and_creatable_storage_are_accepted(tmp_path):
    assert tiny(storage=f"file://{tmp_path}/new/runs").storage.startswith("file://")
    assert tiny(storage=f"{tmp_path}/a/b/c").storage.endswith("a/b/c")
