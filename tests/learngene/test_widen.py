"""Growing a network (gtl_ray.learngene.widen): the widened and deepened network computes what
the narrow one computes, and a deeper descendant's extra layers can start as identity maps."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from gtl_ray.errors import LearngeneError
from gtl_ray.learngene import extract_learngene, implant
from gtl_ray.learngene.compact import compact
from gtl_ray.learngene.narrow import narrow_network
from gtl_ray.learngene.widen import identity_layers, widen
from gtl_ray.models import create_model


def trained_looking(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """`model` with random BatchNorm affines and running statistics calibrated on random images in
    eval mode, so that its eval-mode output depends on its input (torch's init alone shrinks the
    activations layer after layer until the BatchNorm shifts decide everything)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        for m in norms:
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.3, 0.3)
            m.reset_running_stats()
            m.momentum = None  # a cumulative average
        model.train()
        for _ in range(4):
            model(torch.randn(16, 3, 32, 32))
        for m in norms:
            m.momentum = 0.1
    return model


def trained_looking_narrow() -> torch.nn.Module:
    """The quickstart's gene-shaped network, trained-looking."""
    rho = extract_learngene(create_model("vgg11", width=0.25), 0.2).rho
    torch.manual_seed(0)
    return trained_looking(narrow_network(create_model("vgg11", width=0.25, num_classes=5), rho), 0)


@pytest.mark.parametrize("arch,width", [("vgg11", 0.25), ("vgg11", 0.5), ("vgg13", 0.25), ("vgg13", 0.5)])
def test_the_grown_network_computes_the_narrow_ones_function(arch, width):
    narrow, x = trained_looking_narrow(), torch.randn(8, 3, 32, 32)
    grown = widen(narrow, create_model(arch, width=width, num_classes=5), np.random.default_rng(0))
    assert grown.backbone_parameter_count() > 4 * narrow.backbone_parameter_count()
    narrow.eval(), grown.eval()
    assert torch.allclose(narrow(x), grown(x), atol=1e-5)
    if arch == "vgg11":  # only widened: copies share batch statistics, so training mode agrees too
        narrow.train(), grown.train()
        assert torch.allclose(copy.deepcopy(narrow)(x), copy.deepcopy(grown)(x), atol=1e-4)


def test_copies_differ_in_their_outgoing_weights_so_training_can_tell_them_apart():
    grown = widen(trained_looking_narrow(), create_model("vgg11", width=0.5, num_classes=5), np.random.default_rng(0))
    second = grown.features.stages[1][0].conv.weight  # reads the first layer's 32 channels, 7 of them original
    columns = second.abs().sum(dim=(0, 2, 3))
    assert len(set(np.round(columns.detach().numpy(), 6))) == len(columns)
    a = widen(trained_looking_narrow(), create_model("vgg11", width=0.5), np.random.default_rng(1))
    b = widen(trained_looking_narrow(), create_model("vgg11", width=0.5), np.random.default_rng(1))
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_widening_refuses_a_narrower_or_foreign_target():
    narrow = trained_looking_narrow()
    with pytest.raises(LearngeneError, match="narrower"):
        widen(create_model("vgg11", width=0.5), create_model("vgg11", width=0.25), np.random.default_rng(0))
    with pytest.raises(LearngeneError, match="plain chain"):
        widen(narrow, create_model("resnet12", width=0.25), np.random.default_rng(0))
    with pytest.raises(LearngeneError, match="has no layer"):
        widen(create_model("vgg13", width=0.25), create_model("vgg11", width=0.5), np.random.default_rng(0))


def test_a_gene_passes_through_identity_extra_layers_and_a_zero_rest_still_compacts():
    gene = extract_learngene(trained_looking(create_model("vgg11", width=0.25), 1), 0.2)
    deep = implant(gene, create_model("vgg13", width=0.25), rest_init="scaled", rest_scale=0.0, extra_layers="identity")
    shallow = implant(gene, create_model("vgg11", width=0.25), rest_init="scaled", rest_scale=0.0)
    small = compact(deep)
    assert small is not None and compact(shallow) is not None
    deep.eval(), small.eval(), shallow.eval()
    x = torch.randn(4, 3, 32, 32)
    live = small.feature_dim  # the wide features past the gene's are zero
    assert torch.allclose(deep.embed(x)[:, :live], small.embed(x), atol=1e-5) and not deep.embed(x)[:, live:].any()
    assert torch.allclose(deep(x), small(x), atol=1e-5)
    assert torch.allclose(deep.embed(x), shallow.embed(x), atol=1e-5)  # the identity layers change nothing
    default = implant(gene, create_model("vgg13", width=0.25), rest_init="scaled", rest_scale=0.0)
    default.eval()
    assert not torch.allclose(default.embed(x), shallow.embed(x), atol=0.05)  # torch's init scrambles the circuit
    assert not torch.allclose(shallow.embed(x), shallow.embed(torch.randn(4, 3, 32, 32)), atol=0.05)


def test_identity_layers_refuse_what_cannot_be_an_identity_before_writing():
    model = create_model("vgg13", width=0.25)
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(LearngeneError, match="cannot start as an identity map"):
        identity_layers(model, ["features.stages.1.0"])  # 16 inputs, 32 outputs
    with pytest.raises(LearngeneError, match="cannot start as an identity map"):
        identity_layers(model, ["features.stages.0.0"])  # reads the image
    with pytest.raises(LearngeneError, match="no layer"):
        identity_layers(model, ["nowhere"])
    gene = extract_learngene(create_model("vgg11", width=0.25), 0.2)
    with pytest.raises(LearngeneError, match="plain chain"):
        implant(gene, create_model("resnet12", width=0.25, depth=2), layer_map={}, extra_layers="identity")
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
