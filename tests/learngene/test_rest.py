"""gtl_ray.learngene.rest: the weights outside a gene's block, left, scaled or cut off from it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gtl_ray.learngene.rest import shape_rest


def _conv() -> nn.Conv2d:
    torch.manual_seed(0)
    return nn.Conv2d(4, 6, 3)


@pytest.mark.parametrize("mode", ["default", "scaled", "zero_cross"])
def test_the_gene_block_is_kept_and_the_rest_shaped(mode):
    conv = _conv()
    before = conv.weight.detach().clone()
    shape_rest({"u0": conv}, {"u0": (2, 3)}, mode, scale=0.5)
    after = conv.weight.detach()
    assert torch.equal(after[:2, :3], before[:2, :3])  # the gene's block
    expected_cross = {"default": before[:2, 3:], "scaled": 0.5 * before[:2, 3:], "zero_cross": 0 * before[:2, 3:]}
    assert torch.allclose(after[:2, 3:], expected_cross[mode])
    expected_rows = 0.5 * before[2:] if mode == "scaled" else before[2:]
    assert torch.allclose(after[2:], expected_rows)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="rest_init must be one of"):
        shape_rest({}, {}, "ones")
