"""gtl_ray.preflight.rules: every value check says which key broke which bound, alike."""

from __future__ import annotations

import pytest

from gtl_ray.errors import ConfigError
from gtl_ray.preflight.rules import MAX_COUNT, count, require


def test_a_broken_bound_is_named_with_the_key():
    count(3, "evaluation.episodes")
    with pytest.raises(ConfigError, match=r"^evaluation.episodes: must be >= 1, got 0$"):
        count(0, "evaluation.episodes")
    with pytest.raises(ConfigError, match=rf"^data.num_classes: must be <= {MAX_COUNT}, got"):
        count(MAX_COUNT + 1, "data.num_classes")
    with pytest.raises(ConfigError, match=r"^model.arch: unknown$"):
        require(False, "model.arch", "unknown")
