"""gtl_ray.formats: strict JSON (no NaN, no duplicate keys, bounded nesting) and gzip inflation
bounded in size and ratio."""

from __future__ import annotations

import gzip
import json

import pytest

from gtl_ray import formats
from gtl_ray.errors import StorageError


def test_inflate_bounds_size_and_ratio(monkeypatch):
    assert formats.inflate(gzip.compress(b"ab" * 1000), "small") == b"ab" * 1000
    assert formats.inflate(gzip.compress(b"a") + gzip.compress(b"b"), "two members") == b"ab"
    monkeypatch.setattr(formats, "INFLATE_FREE", 1000)
    bomb = gzip.compress(b"\0" * 10_000_000)  # ~10 kB that inflate 1000x
    with pytest.raises(StorageError, match="bomb.tar.gz: inflates to more than"):
        formats.inflate(bomb, "bomb.tar.gz")
    with pytest.raises(StorageError, match="truncated gzip"):
        formats.inflate(gzip.compress(b"abc" * 100)[:-12], "cut")
    with pytest.raises(StorageError, match="not valid gzip"):
        formats.inflate(b"\x1f\x8bnot gzip at all", "junk")


@pytest.mark.parametrize(
    "text,message",
    [
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"a": NaN}', "NaN is not allowed"),
        (b'{"a": Infinity}', "Infinity is not allowed"),
        (b"[" * 100 + b"]" * 100, "nested deeper than 64"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b'{"a": 1', "not valid JSON"),
        (b"1" * 5000, "not valid JSON"),  # an integer longer than Python converts
    ],
)
def test_strict_json(text, message):
    with pytest.raises(StorageError, match=message):
        formats.parse_json(text, "f.json")


def test_json_depth_counts_without_recursion():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    assert formats.json_depth(deep) == 5001 and formats.json_depth(3) == 0 and formats.json_depth({"a": [1]}) == 2
    assert formats.parse_json(json.dumps({"a": [1, {"b": None}]}), "ok") == {"a": [1, {"b": None}]}
