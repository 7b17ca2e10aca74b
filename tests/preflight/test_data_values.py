"""gtl_ray.preflight.data_values: the data section's values, each refused under its own key."""

from __future__ import annotations

import dataclasses

import pytest

from gtl_ray.errors import ConfigError
from gtl_ray.preflight.data_values import check_data_values
from tests.conftest import tiny


@pytest.mark.parametrize(
    "change,message",
    [
        ({"image_size": 4}, "data.image_size: must be >= 8, got 4"),
        ({"format": "folder", "path": None}, "data.path: required for data.format=folder"),
        ({"seed": -1}, "data.seed: must be >= 0, got -1"),
    ],
)
def test_bad_data_values_name_their_key(change, message):
    data = tiny().data
    check_data_values(data)
    with pytest.raises(ConfigError, match=message):
        check_data_values(dataclasses.replace(data, **change))
