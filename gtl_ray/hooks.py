"""Named points in a member's generation where code outside gtl_ray can run, in the process that
lives the member: a fault-injection test holds every member at a gate there so that a fault lands
inside a known generation, without sleeping; tooling may log or trace there.

    from gtl_ray import hooks
    hooks.register(hooks.BEFORE_LIFE, lambda generation, member: ...)

Nothing is registered by gtl_ray itself, so by default every point is a no-op. In a Ray member
actor, register from the job's `runtime_env={"worker_process_setup_hook": "pkg.module.fn"}`.
"""

from __future__ import annotations

from typing import Callable

BEFORE_LIFE = "before_life"  #: (generation, member): a member is about to live (after a restart too)
POINTS = (BEFORE_LIFE,)

Hook = Callable[[int, int], None]
_registered: dict[str, list[Hook]] = {point: [] for point in POINTS}


def register(point: str, hook: Hook) -> None:
    """Run `hook` at `point` in this process from now on."""
    if point not in _registered:
        raise ValueError(f"unknown hook point {point!r}; points: {', '.join(POINTS)}")
    _registered[point].append(hook)


def clear(point: str) -> None:
    """Forget every hook registered at `point` in this process."""
    _registered[point].clear()


def run(point: str, generation: int, member: int) -> None:
    for hook in list(_registered[point]):
        hook(generation, member)
