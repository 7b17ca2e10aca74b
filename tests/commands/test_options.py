"""gtl_ray.commands.options: what the commands read from their arguments (here, `--layer-map`)."""

from __future__ import annotations

import pytest

from gtl_ray.commands.options import layer_map
from gtl_ray.errors import ConfigError


def test_a_layer_map_is_unit_pairs():
    assert layer_map(" u3=u1 , u4=u2,") == {"u3": "u1", "u4": "u2"}
    for bad in ("", "u3", "u3=u1=u0", "=u1"):
        with pytest.raises(ConfigError, match="--layer-map expects unit=gene_unit"):
            layer_map(bad)
