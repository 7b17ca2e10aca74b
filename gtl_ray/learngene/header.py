"""The learngene file's header, typed and checked: every field, and the fields against the tensors.

A learngene file is safetensors whose `__metadata__["gtl_ray"]` holds the JSON header below. A
file that breaks any rule here is refused with a LearngeneError naming the file and the field,
before any of it is used.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from gtl_ray import formats, storage
from gtl_ray.errors import LearngeneError, StorageError, quote
from gtl_ray.learngene.names import BN_KEYS

FORMAT = "gtl_ray.learngene/1"
MAX_HEADER_BYTES = 16 * storage.MiB  #: the safetensors JSON header (names, shapes, metadata)
MAX_INFO_BYTES = 64 * 1024  #: `info` as JSON
MAX_INFO_DEPTH = 8
MAX_UNITS = 4096
MAX_CHANNELS = 1 << 20
MAX_KERNEL = 15
MAX_WIDTH = 64.0
MAX_DEPTH = 1000
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_UNIT = re.compile(r"[A-Za-z0-9_.]{1,200}")
_CHECKSUM = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class GeneHeader:
    """What a learngene says about itself, beside its tensors.

    Args:
        architecture: the source network's registered name (or a CNN's class name).
        family: the architecture family genes travel within (`generic` for any other CNN).
        width: the source network's channel multiplier.
        depth: the source network's depth (VGG: 11/13/16/19; ResNet12: blocks per stage).
        rho: fraction of channels kept per layer.
        share: fraction (not percent) of the source backbone's parameters the gene holds.
        num_params: parameters the gene holds.
        source_params: parameters of the source backbone.
        info: a small free-form JSON object; genes made by a run hold `preprocessing` and
            `provenance` (see `gtl_ray.learngene.info`).
    """

    architecture: str
    family: str
    width: float
    depth: int
    rho: float
    share: float
    num_params: int
    source_params: int
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredLayout:
    """What a file's header says about its tensors (checked against them on load)."""

    channels: dict[str, tuple[int, int]]  #: (k_out, k_in) kept per unit
    units: list[str]
    checksum: str


HEADER_FIELDS = tuple(f.name for f in fields(GeneHeader))
#: every key of a file's header, in the order error messages list them
FILE_FIELDS = ("format", *HEADER_FIELDS[:-1], "channels", "units", "checksum", "info")


def read_metadata(data: bytes, source: str) -> dict[str, Any]:
    """The gtl_ray header object inside safetensors bytes (not yet checked field by field)."""
    if len(data) < 8:
        raise LearngeneError(f"{source}: not a gtl_ray learngene (safetensors) file: only {len(data)} bytes")
    header_len = int.from_bytes(data[:8], "little")
    if header_len <= 0 or 8 + header_len > len(data) or data[8:9] != b"{":
        raise LearngeneError(f"{source}: not a gtl_ray learngene (safetensors) file, or truncated")
    if header_len > MAX_HEADER_BYTES:
        raise LearngeneError(f"{source}: safetensors header of {header_len} bytes is larger than {MAX_HEADER_BYTES}")
    try:
        header = formats.parse_json(data[8 : 8 + header_len], f"{source}: safetensors header")
        if not isinstance(header, dict) or not isinstance(header.get("__metadata__", {}), dict):
            raise LearngeneError(f"{source}: safetensors header is not a JSON object with a __metadata__ object")
        text = header.get("__metadata__", {}).get("gtl_ray")
        meta = None if not isinstance(text, str) else formats.parse_json(text, f"{source}: gtl_ray header")
    except StorageError as exc:
        raise LearngeneError(str(exc)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise LearngeneError(f"{source}: a safetensors file but not a gtl_ray learngene (no {FORMAT} header)")
    return meta


def parse_header(meta: dict[str, Any], source: str) -> tuple[GeneHeader, StoredLayout]:
    """Every field of the header typed and range-checked, and the fields checked against each other."""
    read = _FieldReader(meta, source)
    unknown = sorted(str(k)[:40] for k in meta if k not in FILE_FIELDS)
    if unknown:
        raise read.fail(unknown[0], f"is not part of {FORMAT} (fields: {', '.join(FILE_FIELDS)})")
    missing = [k for k in FILE_FIELDS if k not in meta and k != "info"]
    if missing:
        raise read.fail(missing[0], "is missing")
    num_params = read.integer("num_params", 1, 2**53)
    source_params = read.integer("source_params", 1, 2**53)
    if source_params < num_params:
        raise read.fail("source_params", f"({source_params}) is smaller than num_params ({num_params})")
    share = read.number("share", 0.0, 1.0)
    if not math.isclose(share, num_params / source_params, rel_tol=1e-6):
        raise read.fail("share", f"({share}) is not num_params / source_params ({num_params / source_params})")
    units, blocks = read.blocks()
    head = GeneHeader(
        architecture=read.text("architecture", _NAME),
        family=read.text("family", _NAME),
        width=read.number("width", 0.0, MAX_WIDTH),
        depth=read.integer("depth", 1, MAX_DEPTH),
        rho=read.number("rho", 0.0, 1.0),
        share=share,
        num_params=num_params,
        source_params=source_params,
        info=read.info(),
    )
    return head, StoredLayout(channels=blocks, units=units, checksum=read.text("checksum", _CHECKSUM))


class _FieldReader:
    """Reads one header field at a time, each failure a LearngeneError naming file and field."""

    def __init__(self, meta: dict[str, Any], source: str):
        self.meta, self.source = meta, source

    def fail(self, field: str, message: str) -> LearngeneError:
        return LearngeneError(f"{self.source}: header field {field!r} {message}")

    def text(self, field: str, pattern: re.Pattern) -> str:
        value = self.meta[field]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise self.fail(field, f"must be a string matching {pattern.pattern}, got {quote(value)}")
        return value

    def integer(self, field: str, low: int, high: float) -> int:
        value = self.meta[field]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(field, f"must be an integer in [{low}, {high:g}], got {quote(value)}")
        return value

    def number(self, field: str, low: float, high: float) -> float:
        """A finite number in (low, high]."""
        value = self.meta[field]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or not low < value <= high:
            raise self.fail(field, f"must be a number in ({low:g}, {high:g}], got {quote(value)}")
        return float(value)

    def blocks(self) -> tuple[list[str], dict[str, tuple[int, int]]]:
        """`units` (layer names, in order) and `channels` ((k_out, k_in) per unit)."""
        units, channels = self.meta["units"], self.meta["channels"]
        names_ok = isinstance(units, list) and all(isinstance(u, str) and _UNIT.fullmatch(u) for u in units)
        if not names_ok or not 1 <= len(units) <= MAX_UNITS:
            raise self.fail("units", f"must be a list of 1 to {MAX_UNITS} layer names, got {quote(units)}")
        if len(set(units)) != len(units):
            raise self.fail("units", "lists a layer twice")
        if not isinstance(channels, dict) or sorted(channels) != sorted(units):
            raise self.fail("channels", "must be an object with one [k_out, k_in] entry per name in 'units'")
        blocks: dict[str, tuple[int, int]] = {}
        for unit in units:
            pair = channels[unit]
            counts = isinstance(pair, list) and len(pair) == 2
            if not counts or not all(isinstance(c, int) and not isinstance(c, bool) for c in pair):
                counts = False
            if not counts or not all(1 <= c <= MAX_CHANNELS for c in pair):
                raise self.fail(
                    "channels",
                    f"entry {unit!r} must be [k_out, k_in], integers in [1, {MAX_CHANNELS}], got {quote(pair)}",
                )
            blocks[unit] = (pair[0], pair[1])
        return list(units), blocks

    def info(self) -> dict[str, Any]:
        info = self.meta.get("info", {})
        if not isinstance(info, dict):
            raise self.fail("info", f"must be a JSON object, got {quote(info)}")
        if formats.json_depth(info) > MAX_INFO_DEPTH or len(json.dumps(info)) > MAX_INFO_BYTES:
            raise self.fail(
                "info", f"must be at most {MAX_INFO_BYTES} bytes of JSON nested at most {MAX_INFO_DEPTH} deep"
            )
        return info


def order_tensors(
    layout: StoredLayout, num_params: int, tensors: dict[str, np.ndarray], source: str
) -> dict[str, np.ndarray]:
    """The tensors in header order, after checking each against the header: names, dtypes,
    shapes (conv blocks as `channels` says; an optional conv bias and the four BatchNorm entries,
    all or none, of length k_out), finite values, and `num_params` equal to what they hold."""
    ordered: dict[str, np.ndarray] = {}
    count = 0
    for unit in layout.units:
        k_out, k_in = layout.channels[unit]
        suffixes = ["conv.weight"] + [k for k in ("conv.bias",) if f"{unit}.{k}" in tensors]
        has_bn = any(f"{unit}.bn.{k}" in tensors for k in BN_KEYS)  # a conv without BatchNorm has none
        suffixes += [f"bn.{k}" for k in BN_KEYS] if has_bn else []
        for suffix in suffixes:
            key = f"{unit}.{suffix}"
            if key not in tensors:
                raise LearngeneError(f"{source}: tensor {key!r} listed in the header is missing")
            value = tensors[key]
            if not np.issubdtype(value.dtype, np.floating):
                raise LearngeneError(f"{source}: tensor {key!r} has dtype {value.dtype}, expected floating point")
            if suffix == "conv.weight":
                ok = (
                    value.ndim == 4
                    and value.shape[:2] == (k_out, k_in)
                    and all(1 <= s <= MAX_KERNEL for s in value.shape[2:])
                )
                expected = f"({k_out}, {k_in}, kh, kw) as header field 'channels' says"
            else:
                ok = value.shape == (k_out,)
                expected = f"({k_out},), the conv block's k_out"
            if not ok:
                raise LearngeneError(f"{source}: tensor {key!r} has shape {value.shape}, expected {expected}")
            if not np.isfinite(value).all():
                raise LearngeneError(f"{source}: tensor {key!r} holds NaN or infinite values")
            ordered[key] = value
        count += int(np.prod(ordered[f"{unit}.conv.weight"].shape)) + k_out * (("conv.bias" in suffixes) + 2 * has_bn)
    if len(ordered) != len(tensors):
        extra = sorted(set(tensors) - set(ordered))[0]
        raise LearngeneError(f"{source}: holds tensor {extra[:100]!r}, which its header does not list")
    if count != num_params:
        raise LearngeneError(f"{source}: header field 'num_params' is {num_params}, but the tensors hold {count}")
    return ordered
