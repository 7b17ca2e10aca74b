"""Dataclasses as the schema of the JSON files gtl_ray writes and reads back (manifests, leases).

A file's dataclass is written with `dataclasses.asdict` and read back with `read_dataclass`, which
checks every field against its type annotation (str, int, float, bool, None, lists, tuples,
dicts with str keys, nested dataclasses, unions of these) and names the dotted field at fault. So
a file format is spelled once, in its dataclass; rules that types cannot say (a count that must
match another) are the caller's, checked after the read.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, TypeVar

from gtl_ray.errors import StorageError, quote

T = TypeVar("T")


def read_dataclass(cls: type[T], raw: Any, where: str, field: str = "") -> T:
    """`raw` (parsed JSON) as an instance of dataclass `cls`; StorageError naming `where` and the
    dotted field when a key is missing or unknown or a value has the wrong type."""
    if not isinstance(raw, dict):
        raise StorageError(f"{where}: {_name(field)}must be a JSON object, got {quote(raw)}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(str(k)[:40] for k in raw if k not in known)
    if unknown:
        raise StorageError(f"{where}: field {_dotted(field, unknown[0])!r} is not part of the format")
    values = {}
    for name, spec in known.items():
        key = _dotted(field, name)
        if name not in raw:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise StorageError(f"{where}: field {key!r} is missing")
            continue
        values[name] = _value(hints[name], raw[name], where, key)
    return cls(**values)


def _value(kind: Any, value: Any, where: str, field: str) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return value
    if kind in (list, dict):  # unparameterized: any items
        origin, args = kind, ()
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _value(option, value, where, field)
            except StorageError:
                continue
        raise StorageError(f"{where}: field {field!r} must be {_describe(kind)}, got {quote(value)}")
    if dataclasses.is_dataclass(kind):
        return read_dataclass(kind, value, where, field)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise StorageError(f"{where}: field {field!r} must be a list, got {quote(value)}")
        item = args[0] if args else Any
        items = [_value(item, v, where, f"{field}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise StorageError(f"{where}: field {field!r} must be an object, got {quote(value)}")
        item = args[1] if args else Any
        return {str(k): _value(item, v, where, f"{field}.{k}") for k, v in value.items()}
    if _scalar_ok(kind, value):
        return float(value) if kind is float else value
    raise StorageError(f"{where}: field {field!r} must be {_describe(kind)}, got {quote(value)}")


def _scalar_ok(kind: Any, value: Any) -> bool:
    if kind is type(None):
        return value is None
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is str:
        return isinstance(value, str)
    raise TypeError(f"read_dataclass cannot check values of type {kind!r}")


def _describe(kind: Any) -> str:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return " or ".join(_describe(k) for k in typing.get_args(kind))
    names = {type(None): "null", bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}
    return names.get(kind, getattr(kind, "__name__", str(kind)))


def _dotted(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _name(field: str) -> str:
    return f"field {field!r} " if field else ""
