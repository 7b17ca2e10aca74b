"""gtl_ray.schema: parsed JSON typed as a dataclass, each missing, unknown or mistyped field named."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from gtl_ray.errors import StorageError
from gtl_ray.schema import read_dataclass


@dataclass
class Inner:
    count: int


@dataclass
class Outer:
    name: str
    inner: Inner
    tags: list[str] = field(default_factory=list)


def test_typed_with_defaults():
    assert read_dataclass(Outer, {"name": "a", "inner": {"count": 2}}, "f.json") == Outer("a", Inner(2))


@pytest.mark.parametrize(
    "raw,message",
    [
        ({"name": "a"}, "f.json: field 'inner' is missing"),
        ({"name": "a", "inner": {"count": 2}, "extra": 1}, "f.json: field 'extra' is not part of the format"),
        ({"name": "a", "inner": {"count": "2"}}, "f.json: field 'inner.count'"),
        ([], "f.json: must be a JSON object"),
    ],
)
def test_each_bad_field_is_named(raw, message):
    with pytest.raises(StorageError, match=message.replace(".", r"\.")):
        read_dataclass(Outer, raw, "f.json")
