"""gtl_ray.models.layers: channel counts scaled by width, never below one."""

from __future__ import annotations

from gtl_ray.models.layers import scaled


def test_width_scales_channels_rounding_and_keeps_one():
    assert [scaled(64, w) for w in (1.0, 0.5, 0.125, 0.001)] == [64, 32, 8, 1]
