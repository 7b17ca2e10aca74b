"""gtl_ray.hooks: code registered at a named point runs there, with the generation and member."""

from __future__ import annotations

import pytest

from gtl_ray import hooks


def test_a_registered_hook_runs_until_cleared():
    seen: list[tuple[int, int]] = []
    hooks.register(hooks.BEFORE_LIFE, lambda generation, member: seen.append((generation, member)))
    try:
        hooks.run(hooks.BEFORE_LIFE, 2, 5)
    finally:
        hooks.clear(hooks.BEFORE_LIFE)
    hooks.run(hooks.BEFORE_LIFE, 3, 0)
    assert seen == [(2, 5)]


def test_an_unknown_point_is_refused():
    with pytest.raises(ValueError, match="unknown hook point 'after_life'; points: before_life"):
        hooks.register("after_life", lambda generation, member: None)
