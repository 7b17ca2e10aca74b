"""gtl_ray.registry: entries by name, listed in registration order, and an unknown name refused
with the config key and the known names."""

from __future__ import annotations

import pytest

from gtl_ray.errors import ConfigError
from gtl_ray.registry import Registry


def test_register_list_and_get():
    registry: Registry = Registry("data.format", ConfigError)

    @registry.register("zeta")
    def zeta():
        return "z"

    registry.register("alpha")(len)
    assert registry.names() == ["zeta", "alpha"] and registry.get("zeta") is zeta
    with pytest.raises(ConfigError, match=r"data.format: unknown 'beta'; registered: alpha, zeta"):
        registry.get("beta")
