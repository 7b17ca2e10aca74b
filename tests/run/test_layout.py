"""gtl_ray.run.layout: every path of a run folder, and the one rule for run names."""

from __future__ import annotations

import pytest

from gtl_ray.errors import StorageError
from gtl_ray.run.layout import RunLayout, check_run_name, member_gene, offspring_gene, parent_file, valid_run_name


@pytest.mark.parametrize("name", ["quickstart", "a.b-c_d", "x" * 128])
def test_good_run_names(name):
    assert valid_run_name(name) and check_run_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "x" * 129, "a b", 7, None])
def test_a_run_name_is_one_path_segment(name):
    assert not valid_run_name(name)
    with pytest.raises(StorageError, match="run name"):
        RunLayout("/runs", name)


def test_paths_inside_a_run():
    layout = RunLayout.from_path("/data/runs/quick")
    assert (layout.root, layout.name) == ("/data/runs", "quick")
    assert layout.manifest == "/data/runs/quick/manifest.json"
    assert layout.path(member_gene(3, 1)) == "/data/runs/quick/generations/0003/member-0001.safetensors"
    assert layout.descendant("vgg11", 0.5) == "/data/runs/quick/descendants/vgg11-w0.5.safetensors"
    assert layout.tune_session(2) == "tune-from-0002"


def test_a_uri_keeps_its_query_on_the_root():
    layout = RunLayout.from_path("s3://bucket/runs/quick?endpoint_override=127.0.0.1:9000")
    assert (layout.root, layout.name) == ("s3://bucket/runs?endpoint_override=127.0.0.1:9000", "quick")


def test_where_a_parent_gene_lives():
    assert parent_file("initial", "initial", reptile=False) == "initial/learngene.safetensors"
    assert parent_file("g0002m0005", "initial", reptile=False) == member_gene(2, 5)
    assert parent_file("g0002m0005", "initial", reptile=True) == offspring_gene(2, 5)
    with pytest.raises(StorageError, match="neither 'initial' nor a member id"):
        parent_file("../../etc/passwd", "initial", reptile=False)
