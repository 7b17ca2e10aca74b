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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import safetensors.numpy

from gtl_ray import storage
from gtl_ray.errors import LearngeneError
from gtl_ray.learngene import header
from gtl_ray.learngene.header import FORMAT
from gtl_ray.learngene.locate import gene_file
from gtl_ray.learngene.names import gene_units

GENERIC_FAMILY = "generic"  #: `family` of a learngene cut from a network that is not a built-in one


@dataclass
class Learngene:
    """Kept channel blocks of every conv(+BN) unit of a source network.

    `share` is the fraction (not percent) of the source backbone's parameters the gene holds;
    `rho` the fraction of channels kept per layer; `info` a small free-form JSON object that
    travels in the file header: genes made by a run hold `info["preprocessing"]` (the input the
    network was trained on) and `info["provenance"]` (run, generation, member, config digest);
    see `gtl_ray.learngene.info`.
    """

    tensors: dict[str, np.ndarray]
    architecture: str
    family: str
    width: float
    depth: int
    rho: float
    share: float
    num_params: int
    source_params: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def units(self) -> list[str]:
        return gene_units(self.tensors)

    @property
    def channels(self) -> dict[str, tuple[int, int]]:
        """(k_out, k_in) kept per unit."""
        return {u: tuple(self.tensors[f"{u}.conv.weight"].shape[:2]) for u in self.units}

    @property
    def preprocessing(self) -> dict[str, Any] | None:
        """Image size and normalization the source network was trained with, if recorded."""
        return self.info.get("preprocessing")

    @property
    def provenance(self) -> dict[str, Any] | None:
        """Run, generation, member and config digest that made this gene, if recorded."""
        return self.info.get("provenance")

    @property
    def checksum(self) -> str:
        return tensors_checksum(self.tensors)

    def replace_tensors(self, tensors: dict[str, np.ndarray], **info: Any) -> "Learngene":
        """A gene with new tensor values (same layout), e.g. after a lifetime or a mutation."""
        for key, value in self.tensors.items():
            if key not in tensors or tensors[key].shape != value.shape:
                raise LearngeneError(
                    f"tensor {key!r}: expected shape {value.shape}, got {getattr(tensors.get(key), 'shape', None)}"
                )
        return Learngene(
            dict(tensors),
            self.architecture,
            self.family,
            self.width,
            self.depth,
            self.rho,
            self.share,
            self.num_params,
            self.source_params,
            {**self.info, **info},
        )

    def metadata(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "architecture": self.architecture,
            "family": self.family,
            "width": self.width,
            "depth": self.depth,
            "rho": self.rho,
            "share": self.share,
            "num_params": self.num_params,
            "source_params": self.source_params,
            "channels": {u: list(c) for u, c in self.channels.items()},
            "units": self.units,
            "checksum": self.checksum,
            "info": self.info,
        }

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
        head = header.parse_header(header.read_metadata(data, source), source)
        try:
            tensors = safetensors.numpy.load(data)
        except Exception as exc:  # safetensors raises SafetensorError for truncated / inconsistent files
            raise LearngeneError(
                f"{source}: corrupt or truncated safetensors data: {' '.join(str(exc).split())[:200]}"
            ) from None
        ordered = header.order_tensors(head, tensors, source)
        if tensors_checksum(ordered) != head.checksum:
            raise LearngeneError(
                f"{source}: checksum mismatch (file corrupted or edited): header says {head.checksum}, content gives {tensors_checksum(ordered)}"
            )
        return cls(
            ordered,
            head.architecture,
            head.family,
            head.width,
            head.depth,
            head.rho,
            head.share,
            head.num_params,
            head.source_params,
            dict(head.info),
        )

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
