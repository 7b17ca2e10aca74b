"""gtl_ray.learngene.names: the units a gene holds, read from its tensor names in forward order."""

from __future__ import annotations

from gtl_ray.learngene.names import BN_KEYS, gene_units


def test_units_in_forward_order_from_conv_weights():
    tensors = {"b.conv.weight": 0, **{f"b.bn.{k}": 0 for k in BN_KEYS}, "a.conv.weight": 0, "head.weight": 0}
    assert gene_units(tensors) == ["b", "a"]
