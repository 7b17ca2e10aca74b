"""The Learngene: a network's core channel blocks plus what is needed to trust and reuse them.

Stored as safetensors with the metadata (architecture, width, share, per-layer blocks, checksum)
in the header, to a local path or any pyarrow.fs URI. Loading parses the safetensors header only
(never executes a file) and verifies the checksum. Numpy only: the learngene pool and
`gtl-ray inspect` read, average and write genes without importing torch; cutting a gene out of a
network and implanting one is `gtl_ray.learngene.transplant`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import safetensors.numpy

from gtl_ray import storage
from gtl_ray.errors import LearngeneError
from gtl_ray.learngene.header import FORMAT, HEADER_FIELDS, GeneHeader, order_tensors, parse_header, read_metadata
from gtl_ray.learngene.locate import gene_file
from gtl_ray.learngene.names import gene_units

GENERIC_FAMILY = "generic"  #: `family` of a learngene cut from a network that is not a built-in one


@dataclass(frozen=True)
class Learngene:
    """Kept channel blocks of every conv(+BN) unit of a source network, and its header.

    The header's fields read as the gene's own (`gene.share` is `gene.header.share`; see
    `GeneHeader` for what each means). Build one by keyword: `Learngene(header=..., tensors=...)`.
    """

    header: GeneHeader
    tensors: Mapping[str, np.ndarray]  #: a dict, or tensors computed on first read (`evolution.moved`)

    def __getattr__(self, name: str) -> Any:
        if name in HEADER_FIELDS:
            return getattr(self.header, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def units(self) -> list[str]:
        return gene_units(self.tensors)

    @property
    def channels(self) -> dict[str, tuple[int, int]]:
        """(k_out, k_in) kept per unit."""
        return {u: tuple(self.tensors[f"{u}.conv.weight"].shape[:2]) for u in self.units}

    @property
    def shape(self) -> dict[str, Any]:
        """What network the gene was cut from and how much of it it keeps (inspect, model card)."""
        fields = ("architecture", "family", "width", "depth", "share", "rho", "num_params", "source_params")
        return {name: getattr(self, name) for name in fields}

    @property
    def preprocessing(self) -> dict[str, Any] | None:
        """Image size and normalization the source network was trained with, if recorded."""
        return self.header.info.get("preprocessing")

    @property
    def provenance(self) -> dict[str, Any] | None:
        """Run, generation, member and config digest that made this gene, if recorded."""
        return self.header.info.get("provenance")

    @cached_property
    def checksum(self) -> str:
        """sha256 of the tensors, computed on first use (the tensors are never changed in place)."""
        return tensors_checksum(self.tensors)

    def replace_tensors(self, tensors: Mapping[str, np.ndarray], *, checked: bool = True, **info: Any) -> "Learngene":
        """A gene with new tensor values (same layout), e.g. after a lifetime or a mutation;
        `info` entries are added to (or replace those of) the header's. `checked=False` takes
        `tensors` as they are (not copied, layout not checked): for tensors of this layout by
        construction whose reading costs work (`evolution.moved.MovedTensors`)."""
        if not checked:
            return Learngene(header=replace(self.header, info={**self.header.info, **info}), tensors=tensors)
        for key, value in self.tensors.items():
            if key not in tensors or tensors[key].shape != value.shape:
                raise LearngeneError(
                    f"tensor {key!r}: expected shape {value.shape}, got {getattr(tensors.get(key), 'shape', None)}"
                )
        return Learngene(header=replace(self.header, info={**self.header.info, **info}), tensors=dict(tensors))

    def metadata(self) -> dict[str, Any]:
        """The file header: the gene's header, plus what its tensors say about themselves."""
        stored = {"channels": {u: list(c) for u, c in self.channels.items()}, "units": self.units}
        return {"format": FORMAT, **asdict(self.header), **stored, "checksum": self.checksum}

    def to_bytes(self) -> bytes:
        ordered = {k: np.ascontiguousarray(v) for k, v in self.tensors.items()}
        return safetensors.numpy.save(ordered, metadata={"gtl_ray": json.dumps(self.metadata(), sort_keys=True)})

    def save(self, uri: str) -> None:
        """Write atomically to a local path or pyarrow.fs URI."""
        storage.write_bytes_atomic(uri, self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> "Learngene":
        """Parse and verify a learngene file: every header field (`header.parse_header`), the
        tensors against the header (`header.order_tensors`) and the checksum."""
        head, layout = parse_header(read_metadata(data, source), source)
        try:
            tensors = safetensors.numpy.load(data)
        except Exception as exc:  # safetensors raises SafetensorError for truncated / inconsistent files
            raise LearngeneError(
                f"{source}: corrupt or truncated safetensors data: {' '.join(str(exc).split())[:200]}"
            ) from None
        ordered = order_tensors(layout, head.num_params, tensors, source)
        gene = cls(header=head, tensors=ordered)
        if gene.checksum != layout.checksum:
            raise LearngeneError(
                f"{source}: checksum mismatch (file corrupted or edited): "
                f"header says {layout.checksum}, content gives {gene.checksum}"
            )
        return gene

    @classmethod
    def load(cls, uri: str) -> "Learngene":
        """Read and verify a learngene: a file (path or URI), a folder from `gtl-ray export` or
        `hf://owner/repo[@revision]` (`locate.gene_file`); refuses anything that is not one
        (never unpickles)."""
        return cls.from_bytes(storage.read_bytes(gene_file(uri), "learngene"), source=str(uri))


def tensors_checksum(tensors: dict[str, np.ndarray]) -> str:
    """sha256 over names, dtypes, shapes and bytes, in sorted key order."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        value = np.ascontiguousarray(tensors[key])
        digest.update(f"{key}|{value.dtype.str}|{value.shape}|".encode())
        digest.update(value.tobytes())
    return "sha256:" + digest.hexdigest()
