"""gtl_ray.learngene.narrow: the network a learngene's blocks make on their own."""

from __future__ import annotations

import torch

from gtl_ray import create_model, extract_learngene
from gtl_ray.learngene.narrow import narrow_network


def test_the_narrow_network_has_the_genes_shapes():
    model = create_model("vgg11", width=0.25, num_classes=5)
    gene = extract_learngene(model)
    narrow = narrow_network(model, gene.rho)
    convs = {n.removesuffix(".conv"): m for n, m in narrow.named_modules() if isinstance(m, torch.nn.Conv2d)}
    assert {u: tuple(convs[u].weight.shape) for u in gene.units} == {
        u: gene.tensors[f"{u}.conv.weight"].shape for u in gene.units
    }
    assert narrow(torch.zeros(1, 3, 32, 32)).shape == (1, 5)
