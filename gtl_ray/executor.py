"""How a batch of independent work items runs: here, one after another, or elsewhere.

Science code (evaluation episodes, scoring final-gene candidates) takes an `Executor` and never
imports Ray; `gtl_ray.service.ray_executor.RayExecutor` runs the same functions as Ray tasks.
`fn(shared, item)` must be a module-level function so that it can travel to another process;
`shared` is what every item needs (moved once), `item` what differs.
"""

from __future__ import annotations

from typing import Callable, Iterator, Protocol, Sequence, TypeVar

import torch

S = TypeVar("S")
I = TypeVar("I")
R = TypeVar("R")


class Executor(Protocol):
    def map(self, fn: Callable[[S, I], R], shared: S, items: Sequence[I]) -> Iterator[tuple[int, R]]:
        """Yield (index of the item, fn(shared, item)) for every item, in any order."""
        ...


class InProcess:
    """Items one after another in this process, with `threads` torch threads (None: as set).

    Args:
        threads: torch intra-op threads while the batch runs; restored afterwards.
    """

    def __init__(self, threads: int | None = None):
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.threads = threads

    def map(self, fn: Callable[[S, I], R], shared: S, items: Sequence[I]) -> Iterator[tuple[int, R]]:
        previous = torch.get_num_threads()
        try:
            for index, item in enumerate(items):
                if self.threads is not None:
                    torch.set_num_threads(self.threads)
                yield index, fn(shared, item)
        finally:
            torch.set_num_threads(previous)
