"""Strict decoders for the bytes the bounded reader (`gtl_ray.storage`) returns.

- JSON: UTF-8 only, no NaN/Infinity, no duplicate keys, nesting bounded (deep nesting would
  otherwise end in a RecursionError).
- gzip: only where a format is compressed on purpose (the CIFAR-100 .tar.gz), with a ceiling on
  both the inflated size and the inflation ratio (a gzip bomb is refused, not inflated).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from gtl_ray import storage
from gtl_ray.errors import StorageError

MAX_INFLATE_RATIO = 100  #: inflated / compressed size allowed beyond the first INFLATE_FREE bytes
INFLATE_FREE = 64 * storage.MiB
MAX_JSON_DEPTH = 64  #: nesting of JSON objects and arrays


def inflate(data: bytes, source: str, kind: str = "unpacked") -> bytes:
    """Decompress gzip `data` (a format that is compressed on purpose), refusing output larger
    than `storage.limit(kind)` or MAX_INFLATE_RATIO times the input (beyond INFLATE_FREE bytes)."""
    cap = min(storage.limit(kind), max(INFLATE_FREE, MAX_INFLATE_RATIO * len(data)))
    out: list[bytes] = []
    total, rest = 0, data
    try:
        while rest:
            engine = zlib.decompressobj(16 + zlib.MAX_WBITS)
            piece = engine.decompress(rest, cap + 1 - total)
            total += len(piece)
            out.append(piece)
            if total > cap or engine.unconsumed_tail:
                raise StorageError(
                    f"{source}: inflates to more than {cap} bytes (limit: {MAX_INFLATE_RATIO}x its size, at most "
                    f"{storage.limit(kind)}; set GTL_RAY_MAX_{kind.upper()}_BYTES to allow more)"
                )
            if not engine.eof:
                raise StorageError(f"{source}: truncated gzip data")
            rest = engine.unused_data  # a gzip file may hold several members
    except zlib.error as exc:
        raise StorageError(f"{source}: not valid gzip data: {exc}") from None
    return b"".join(out)


def parse_json(data: bytes | str, source: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no duplicate keys, nesting at most `max_depth`."""

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(f"duplicate key {key[:80]!r}")
            out[key] = value
        return out

    try:
        value = json.loads(data, parse_constant=refuse_constant, object_pairs_hook=pairs)
    except RecursionError:
        raise StorageError(f"{source}: JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise StorageError(f"{source}: not valid JSON: {str(exc)[:200]}") from None
    if json_depth(value) > max_depth:
        raise StorageError(f"{source}: JSON nested deeper than {max_depth} levels")
    return value


def json_depth(value: Any) -> int:
    """Nesting depth of containers in a parsed JSON value (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def read_json(location: str, kind: str) -> Any:
    """A bounded, strictly parsed JSON file."""
    return parse_json(storage.read_bytes(location, kind), location)
