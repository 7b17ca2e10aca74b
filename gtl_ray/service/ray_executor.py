"""`RayExecutor`: the science code's `Executor` as Ray tasks, so evaluation episodes, the final
selection's candidates and pre-training run on the cluster's workers (and their GPUs) while the
science code stays Ray-free."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import ray
import torch


def _call(fn: Callable[[Any, Any], Any], shared: Any, item: Any, threads: int) -> Any:
    torch.set_num_threads(threads)
    return fn(shared, item)


class RayExecutor:
    """Each item a Ray task holding `resources` ({"CPU": c, "GPU": g}); `shared` is put in the
    object store once. Results are yielded as tasks finish.

    Args:
        resources: what one task holds; its CPU count is also its torch thread count.
    """

    def __init__(self, resources: dict[str, float] | None = None):
        self.resources = dict(resources or {"CPU": 1.0})
        self.threads = max(1, int(self.resources.get("CPU", 1.0)))

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        remote = ray.remote(num_cpus=self.resources.get("CPU", 1.0), num_gpus=self.resources.get("GPU", 0.0))(_call)
        shared_ref = ray.put(shared)
        pending = {remote.remote(fn, shared_ref, item, self.threads): i for i, item in enumerate(items)}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(ready[0])
            yield index, ray.get(ready[0])
