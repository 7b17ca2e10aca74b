"""A gene carried with a zero rest runs as its narrow network (`learngene.compact`): the same
outputs and, trained alike, the same weights; refused wherever the rest is not dead."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from gtl_ray.learngene import extract_learngene, implant
from gtl_ray.learngene.compact import compact, dead_rest_blocks, write_back
from gtl_ray.models import create_model


def carrier(arch: str = "vgg11", rest_init: str = "scaled", rest_scale: float = 0.0, dtype=torch.float32):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        gene = extract_learngene(create_model(arch, width=0.25), 0.2)
        model = create_model(arch, width=0.25, num_classes=5)
    implant(gene, model, rest_init=rest_init, rest_scale=rest_scale)
    return gene, model.to(dtype)


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 8) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def test_the_narrow_network_has_the_genes_blocks_and_the_same_outputs():
    gene, model = carrier()
    narrow = compact(model)
    assert narrow is not None
    blocks = dead_rest_blocks(model)
    assert blocks == {name: tuple(gene.tensors[f"{name}.conv.weight"].shape[:2]) for name in blocks}
    assert narrow.feature_dim == blocks[next(reversed(blocks))][0] < model.feature_dim
    x = torch.randn(6, 3, 32, 32)
    model.eval(), narrow.eval()
    assert torch.allclose(model(x), narrow(x), atol=1e-5)
    assert torch.allclose(model.embed(x)[:, : narrow.feature_dim], narrow.embed(x), atol=1e-5)
    assert not model.embed(x)[:, narrow.feature_dim :].any()


def test_training_the_narrow_network_is_training_the_wide_one():
    """In float64 (no rounding to hide behind): every weight that acts on the output ends equal,
    and the wide network's rest stays exactly zero."""
    _, model = carrier(dtype=torch.float64)
    narrow = compact(model)
    wide = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(1)
    x, y = (
        torch.randn(10, 3, 32, 32, generator=generator, dtype=torch.float64),
        torch.randint(0, 5, (10,), generator=generator),
    )
    train(wide, x, y)
    train(narrow, x, y)
    assert dead_rest_blocks(wide) == dead_rest_blocks(model)
    home = copy.deepcopy(model)
    write_back(narrow, home)
    wide.eval(), home.eval()
    assert torch.allclose(wide(x), home(x), atol=1e-9, rtol=0)
    for (key, a), b in zip(wide.state_dict().items(), home.state_dict().values()):
        if key.endswith(("bn.weight", "running_var")) or key == "head.weight":
            continue  # the dead rest's BN scales, variances and head columns only decay; they never act
        assert torch.allclose(a.double(), b.double(), atol=1e-9, rtol=0), key


def test_the_global_random_stream_is_untouched():
    _, model = carrier()
    before = torch.random.get_rng_state()
    assert compact(model) is not None
    assert torch.equal(before, torch.random.get_rng_state())


@pytest.mark.parametrize(
    "case",
    [
        "default rest",
        "scaled 0.1",
        "resnet12 (LeakyReLU, shortcuts)",
        "a dead channel's BN shift",
        "a dead channel's running mean",
        "no gene",
    ],
)
def test_a_rest_that_is_not_dead_is_not_compacted(case):
    if case == "default rest":
        _, model = carrier(rest_init="default")
    elif case == "scaled 0.1":
        _, model = carrier(rest_scale=0.1)
    elif case.startswith("resnet12"):
        _, model = carrier("resnet12")
    elif case == "no gene":
        model = create_model("vgg11", width=0.25)
    else:
        _, model = carrier()
        unit = model.features.stages[2][0]
        with torch.no_grad():
            (unit.bn.bias if "shift" in case else unit.bn.running_mean)[-1] = 0.5
    assert compact(model) is None
