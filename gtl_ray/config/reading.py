"""Reading a config: a YAML mapping (plus `--set key=value` overrides) mapped onto `GTLConfig`,
checking every key and type (value ranges are the pre-flight's). Nothing else in gtl_ray reads
YAML."""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from gtl_ray.config.schema import GTLConfig
from gtl_ray.errors import ConfigError, quote
from gtl_ray.yaml_loader import parse as parse_yaml
from gtl_ray.yaml_loader import read_mapping

MAX_INT = 2**63  #: integers and numbers in a config stay below this in magnitude
MAX_STRING = 4096  #: characters in a string value (paths, names)
MAX_MAPPING = 1024  #: entries of a mapping value (a layer map, a recipe space)


def read_config(path: str | Path | None = None, overrides: list[str] | None = None) -> GTLConfig:
    """Read a YAML config (or the defaults when `path` is None) and apply `key=value` overrides,
    checking keys and types (ranges: `gtl_ray.preflight`). Raises ConfigError naming the
    file, key or value at fault."""
    raw: dict[str, Any] = {} if path is None else read_mapping(path)
    for item in overrides or []:
        apply_override(raw, item)
    return from_dict(raw)


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one `dotted.key=value` override (value parsed as YAML) to a raw config mapping."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects key=value, got {quote(item)}")
    value = parse_yaml(text, f"--set {key[:100]}: value {quote(text)}")
    parts = key.strip().split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[: i + 1])} is not a section")
        node = child
    node[parts[-1]] = value


def from_dict(raw: dict[str, Any]) -> GTLConfig:
    """Map a raw mapping onto GTLConfig, checking keys and types (not value ranges)."""
    return _build(GTLConfig, raw, "")


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {quote(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(k if isinstance(k, str) and len(k) <= 60 else quote(k, 60) for k in raw if k not in fields)
    if unknown:
        raise ConfigError(
            f"unknown key {prefix}{unknown[0]}{did_you_mean(unknown[0], fields, prefix)}; "
            f"allowed under {prefix.rstrip('.') or 'top level'}: " + ", ".join(sorted(fields))
        )
    values = {}
    for name, value in raw.items():
        values[name] = _coerce(hints[name], value, f"{prefix}{name}")
    return cls(**values)


def did_you_mean(word: str, choices: typing.Iterable[Any], prefix: str = "") -> str:
    """` (did you mean model.width?)` for the closest of `choices` to a misspelt `word`, else ""."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


def _coerce(hint: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key + ".")
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if not isinstance(value, (str, int, float, bool, type(None))) or value not in allowed:
            hint_text = did_you_mean(value, allowed) if isinstance(value, str) else ""
            raise ConfigError(
                f"{key}: {quote(value)} is not allowed{hint_text}; choose one of {', '.join(map(str, allowed))}"
            )
        return value
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, key)
            except ConfigError:
                pass
        names = " or ".join(_option_name(o) for o in options)
        raise ConfigError(f"{key}: expected {names}, got {quote(value)}")
    if hint is list or origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {quote(value)}")
        item = typing.get_args(hint)[0] if typing.get_args(hint) else None
        if item is not None and dataclasses.is_dataclass(item):  # a list of sections
            return [_build(item, v, f"{key}[{i}].") for i, v in enumerate(value)]
        return list(value)
    if hint is dict or origin is dict:
        return _mapping(value, key, names=typing.get_args(hint) == (str, str))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {quote(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {quote(value)}")
        if abs(value) >= MAX_INT:
            raise ConfigError(f"{key}: {quote(value, 40)} is out of range (|value| < 2**63)")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {quote(value)}")
        if not math.isfinite(value) or abs(value) >= MAX_INT:
            raise ConfigError(f"{key}: expected a finite number, got {quote(value, 40)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {quote(value)}")
        if len(value) > MAX_STRING or "\x00" in value:
            raise ConfigError(
                f"{key}: expected a string of at most {MAX_STRING} characters without NUL, got {quote(value)}"
            )
        return value
    raise ConfigError(f"{key}: unsupported value {quote(value)}")


def _mapping(value: Any, key: str, names: bool) -> dict[str, Any]:
    """A mapping value, bounded like every other config value; with `names`, of names to names
    (a layer map: descendant unit -> learngene unit)."""
    if not isinstance(value, dict) or len(value) > MAX_MAPPING:
        raise ConfigError(f"{key}: expected a mapping of at most {MAX_MAPPING} entries, got {quote(value)}")
    for name, other in value.items():
        text = lambda x: isinstance(x, str) and 0 < len(x) <= 256
        if not text(name) or (names and not text(other)):
            what = "unit: gene_unit names (strings of 1-256 characters)" if names else "keys of 1-256 characters"
            raise ConfigError(f"{key}: expected {what}, got {quote(value)}")
    return dict(value)


def _option_name(option: Any) -> str:
    if typing.get_origin(option) is Literal:
        return " or ".join(map(str, typing.get_args(option)))
    return getattr(option, "__name__", str(option))
