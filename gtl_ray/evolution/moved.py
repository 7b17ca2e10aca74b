"""A gene moved along a learning step, computed when it is first read.

Under `evolution.inheritance: reptile` every parent of the next generation is the gene its member
was born with plus `step_size` x the generation's mean learning step. Computing all of them when
the generation ends put ~150 genes' worth of float64 adds (and, on Ray, as many copies into the
object store) on the path every member waits on. A `MovedTensors` holds the two inputs instead
and adds them on first read: in the member that inherits the gene (in parallel, off the learngene
pool), or in the background checkpoint. The arithmetic is one function (`add_step`), so a gene
moved here, in the pool or in `evolve_local` is the same to the bit.

Numpy only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScaledStep:
    """size x step, flattened once for every gene it moves (float64), with each tensor's place."""

    keys: tuple[str, ...]
    flat: np.ndarray
    bounds: tuple[int, ...]

    @classmethod
    def of(cls, step: Mapping[str, np.ndarray], size: float) -> "ScaledStep":
        keys = tuple(step)
        flat = size * np.concatenate([np.asarray(step[key]).ravel() for key in keys])
        bounds = tuple(np.cumsum([0] + [step[key].size for key in keys]).tolist())
        return cls(keys, flat, bounds)


def add_step(tensors: Mapping[str, np.ndarray], scaled: ScaledStep) -> dict[str, np.ndarray]:
    """`tensors` + the scaled step, added in float64 as one flat vector (a gene holds dozens of
    small tensors: one add, not one per tensor) and rounded to the tensors' dtypes."""
    keys = scaled.keys
    moved = np.concatenate([np.asarray(tensors[key]).ravel() for key in keys], dtype=np.float64) + scaled.flat
    dtypes = {tensors[key].dtype for key in keys}
    if len(dtypes) == 1:  # the usual case: one rounding for the whole gene
        moved = moved.astype(dtypes.pop())
    out = {}
    for key, lo, hi in zip(keys, scaled.bounds, scaled.bounds[1:]):
        value = tensors[key]
        out[key] = moved[lo:hi].astype(value.dtype, copy=False).reshape(value.shape)
    return out


class MovedTensors(Mapping[str, np.ndarray]):
    """A gene's tensors: `base` + `scaled`, computed on first read and kept (then the inputs are
    let go). Pickles as the computed tensors; the Ray service posts the inputs instead
    (`service.handoff`), so that a move is computed where the gene is used."""

    def __init__(self, base: Mapping[str, np.ndarray], scaled: ScaledStep):
        self.base: Mapping[str, np.ndarray] | None = base
        self.scaled: ScaledStep | None = scaled
        self._tensors: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()  # the pool's checkpoint thread and its event loop may both read

    @property
    def computed(self) -> bool:
        return self._tensors is not None

    def tensors(self) -> dict[str, np.ndarray]:
        with self._lock:
            if self._tensors is None:
                assert self.base is not None and self.scaled is not None
                self._tensors = add_step(self.base, self.scaled)
                self.base = self.scaled = None
            return self._tensors

    def __getitem__(self, key: str) -> np.ndarray:
        return self.tensors()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tensors())

    def __len__(self) -> int:
        return len(self.tensors())

    def __reduce__(self) -> tuple:
        return (dict, (self.tensors(),))
