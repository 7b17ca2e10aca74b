"""gtl_ray.storage (and gtl_ray.locations) over a real S3 endpoint: moto's server on 127.0.0.1
(the `s3_server` / `s3_bucket` fixtures), spoken to by pyarrow's S3 filesystem."""

from __future__ import annotations

import pytest

from gtl_ray import storage
from gtl_ray.errors import StorageError
from gtl_ray.locations import with_endpoint


def test_write_read_list_and_delete(s3_bucket):
    root = f"{s3_bucket}/runs"
    storage.write_bytes_atomic(storage.join(root, "a", "x.json"), b'{"v": 1}')
    storage.write_bytes_atomic(storage.join(root, "a", "x.json"), b'{"v": 2}')  # replaced whole
    storage.make_dirs(storage.join(root, "b"))
    assert storage.read_bytes(storage.join(root, "a", "x.json"), "manifest") == b'{"v": 2}'
    assert storage.exists(storage.join(root, "a", "x.json")) and storage.is_dir(storage.join(root, "a"))
    assert storage.list_dir(root) == ["a", "b"]
    assert storage.create_exclusive(storage.join(root, "a", "once"), b"1")
    assert not storage.create_exclusive(storage.join(root, "a", "once"), b"2")
    assert storage.read_bytes(storage.join(root, "a", "once")) == b"1"
    storage.delete_file(storage.join(root, "a", "x.json"))
    assert not storage.exists(storage.join(root, "a", "x.json"))
    storage.delete_dir(storage.join(root, "a"))
    assert storage.list_dir(root) == ["b"]


def test_reads_are_bounded_and_refuse_folders_and_missing_files(s3_bucket, monkeypatch):
    big = f"{s3_bucket}/big.json"
    storage.write_bytes_atomic(big, b"x" * 2000)
    monkeypatch.setenv("GTL_RAY_MAX_EVALUATION_BYTES", "1000")
    with pytest.raises(StorageError, match="2000 bytes is more than the 1000-byte limit for evaluation files"):
        storage.read_bytes(big, "evaluation")
    storage.make_dirs(f"{s3_bucket}/folder")
    with pytest.raises(StorageError, match="is a folder"):
        storage.read_bytes(f"{s3_bucket}/folder")
    with pytest.raises(StorageError, match="file not found"):
        storage.read_bytes(f"{s3_bucket}/nope.json")


def test_a_learngene_and_a_lineage_table_round_trip(s3_bucket):
    from gtl_ray import create_model, extract_learngene
    from gtl_ray.evolution.lineage import read_lineage, write_lineage
    from gtl_ray.learngene import Learngene
    from tests.evolution.test_lineage import family

    gene = extract_learngene(create_model("vgg11", width=0.125, num_classes=5))
    gene.save(f"{s3_bucket}/run/final/learngene.safetensors")
    back = Learngene.load(f"{s3_bucket}/run/final/learngene.safetensors")
    assert back.checksum == gene.checksum and back.units == gene.units
    write_lineage(f"{s3_bucket}/run/lineage.parquet", family())
    assert read_lineage(f"{s3_bucket}/run/lineage.parquet") == family()


def test_the_endpoint_can_travel_in_the_uri_query(s3_bucket, s3_server, monkeypatch):
    """With no endpoint in the environment, `?endpoint_override=...&scheme=http` reaches the
    server, and `join` keeps the query at the end of every path built on the root."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    root = f"{s3_bucket}/runs?endpoint_override={s3_server.endpoint}&scheme=http"
    where = storage.join(root, "name", "manifest.json")
    assert where == f"{s3_bucket}/runs/name/manifest.json?endpoint_override={s3_server.endpoint}&scheme=http"
    storage.write_bytes_atomic(where, b"{}")
    assert storage.read_bytes(where) == b"{}" and storage.list_dir(storage.join(root, "name")) == ["manifest.json"]


def test_endpoint_from_the_environment(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio.local:9000")
    assert with_endpoint("s3://b/runs") == "s3://b/runs?endpoint_override=minio.local%3A9000&scheme=http"
    assert with_endpoint("s3://b/r?region=eu-west-1") == (
        "s3://b/r?region=eu-west-1&endpoint_override=minio.local%3A9000&scheme=http"
    )
    assert with_endpoint("s3://b/r?endpoint_override=h:1") == "s3://b/r?endpoint_override=h:1"  # the URI wins
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.example:8443")
    assert with_endpoint("s3://b") == "s3://b?endpoint_override=s3.example%3A8443&scheme=https"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "ftp://nope")
    with pytest.raises(StorageError, match=r"AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL='ftp://nope': expected http"):
        storage.resolve("s3://b/runs")
    with pytest.raises(StorageError, match="Unexpected query parameter in S3 URI: 'bogus'"):
        storage.resolve("s3://b/runs?endpoint_override=h:1&bogus=1")
