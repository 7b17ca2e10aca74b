"""Learngenes of any CNN (gtl_ray.learngene.units / surgery): torchvision's ResNet-18 and VGG11-BN
(definitions copied in tests/cnn_zoo.py) and a user-defined net."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from gtl_ray import Learngene, create_model, extract_learngene, implant
from gtl_ray.errors import LearngeneError
from gtl_ray.evolution.mutation import mutate_tensors
from gtl_ray.learngene.surgery import gene_slots, kept
from gtl_ray.learngene.units import find_units
from tests.cnn_zoo import UserNet, resnet18, vgg11_bn


def seeded(build, seed=0, **kw):
    torch.manual_seed(seed)
    return build(**kw)


def conv_bn_params(model: nn.Module) -> int:
    return sum(
        p.numel()
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))
        for p in m.parameters(recurse=False)
    )


def test_units_of_resnet18_follow_torchvision_names_and_pair_batchnorms():
    model = resnet18(num_classes=5)
    units = find_units(model)
    assert len(units) == 1 + 16 + 3
    assert list(units)[:4] == ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1"]
    assert "layer2.0.downsample.0" in units and units["layer2.0.downsample.0"].bn is model.layer2[0].downsample[1]
    assert units["layer3.1.conv2"].bn is model.layer3[1].bn2
    assert [n for n, u in units.items() if u.is_input] == ["conv1"]


def test_units_of_user_net_pair_only_matching_batchnorms():
    units = find_units(UserNet())
    assert list(units) == ["stem.0", "block.0", "side", "merge"]
    assert units["side"].bn is None and units["side"].has_bias
    assert units["merge"].bn is not None and units["stem.0"].is_input


@pytest.mark.parametrize(
    "build",
    [lambda: resnet18(num_classes=5), lambda: vgg11_bn(num_classes=5, hidden=64), UserNet],
    ids=["resnet18", "vgg11_bn", "usernet"],
)
def test_share_is_solved_over_conv_and_batchnorm_parameters(build):
    model = seeded(build)
    gene = extract_learngene(model)
    assert gene.source_params == conv_bn_params(model)  # classifier Linear layers excluded
    assert abs(gene.share - 0.20) <= 0.02 and gene.num_params / gene.source_params == pytest.approx(gene.share)
    assert gene.family == "generic" and gene.architecture == type(model).__name__


def test_resnet18_blocks_chain_through_residual_adds():
    gene = extract_learngene(resnet18(num_classes=5))
    rho, channels = gene.rho, gene.channels
    assert channels["conv1"] == (kept(64, rho), 3)  # the image's RGB channels kept whole
    for name, (k_out, k_in) in channels.items():
        if name != "conv1":
            assert k_in == kept(find_units(resnet18())[name].conv.in_channels, rho)
    # the residual add of layer1.0 sums conv1's kept channels with conv2's: same prefix length
    assert channels["layer1.0.conv2"][0] == channels["conv1"][0] == channels["layer1.1.conv1"][1]
    assert channels["layer2.0.downsample.0"] == channels["layer2.0.conv2"][:1] + channels["layer2.0.conv1"][1:]


@pytest.mark.parametrize(
    "build",
    [lambda: resnet18(num_classes=5), lambda: vgg11_bn(num_classes=5, hidden=64), UserNet],
    ids=["resnet18", "vgg11_bn", "usernet"],
)
def test_round_trip_is_exact_and_leaves_the_rest_untouched(build, tmp_path):
    source, target = seeded(build, 1), seeded(build, 2)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    gene = extract_learngene(source)
    gene.save(str(tmp_path / "g.safetensors"))
    back = Learngene.load(str(tmp_path / "g.safetensors"))
    assert back.checksum == gene.checksum and back.units == gene.units
    assert implant(back, target) is target
    assert extract_learngene(target, gene.share).checksum == gene.checksum
    for slot in gene_slots(gene.tensors, target):
        w, w0 = slot.unit.conv.weight.detach(), before[f"{slot.target}.weight"]
        outside = torch.ones_like(w, dtype=torch.bool)
        outside[: slot.k_out, : slot.k_in] = False
        assert torch.equal(w[outside], w0[outside])
        if slot.unit.has_bias:
            assert torch.equal(slot.unit.conv.bias[slot.k_out :].detach(), before[f"{slot.target}.bias"][slot.k_out :])
    changed = [k for k, v in target.state_dict().items() if not torch.equal(v, before[k])]
    assert changed and all(not k.startswith(("fc.", "classifier.", "head.")) for k in changed)


def test_user_net_gene_goes_into_a_wider_user_net():
    gene = extract_learngene(seeded(UserNet, 1, width=16))
    assert "side.conv.bias" in gene.tensors and "side.bn.weight" not in gene.tensors
    wide = implant(gene, seeded(UserNet, 2, width=40))
    assert np.array_equal(
        wide.merge.weight[: gene.channels["merge"][0], : gene.channels["merge"][1]].detach().numpy(),
        gene.tensors["merge.conv.weight"],
    )
    assert wide(torch.zeros(2, 3, 16, 16)).shape == (2, 5)


def test_resnet18_gene_goes_into_a_wider_resnet18_by_names():
    gene = extract_learngene(seeded(resnet18, 1, num_classes=5))
    wide = implant(gene, seeded(resnet18, 2, num_classes=5, widths=(128, 256, 512, 1024)))
    block = gene.tensors["layer4.1.conv2.conv.weight"]
    assert np.array_equal(wide.layer4[1].conv2.weight[: block.shape[0], : block.shape[1]].detach().numpy(), block)
    assert np.array_equal(
        wide.layer4[1].bn2.running_var[: block.shape[0]].numpy(), gene.tensors["layer4.1.conv2.bn.running_var"]
    )


def test_builtin_vgg11_gene_goes_into_torchvision_vgg11_bn_by_kernel_order():
    gene = extract_learngene(create_model("vgg11"))
    target = seeded(vgg11_bn, 3, num_classes=5, hidden=64)
    biases = [m.bias.detach().clone() for m in target.features if isinstance(m, nn.Conv2d)]
    implant(gene, target)
    convs = [m for m in target.features if isinstance(m, nn.Conv2d)]
    for source, conv, bias in zip(gene.units, convs, biases):
        block = gene.tensors[f"{source}.conv.weight"]
        assert np.array_equal(conv.weight[: block.shape[0], : block.shape[1]].detach().numpy(), block)
        assert torch.equal(conv.bias.detach(), bias)  # the gtl_ray VGG has no conv bias: the target's stays


def test_inferred_map_refuses_other_layouts_and_explicit_map_names_shapes():
    gene = extract_learngene(create_model("vgg11"))
    with pytest.raises(
        LearngeneError,
        match=r"first layer 'features.stages.0.0' reads the image but would go to layer 'layer1.0.conv1' of ResNet",
    ):
        implant(gene, resnet18())
    resnet12 = extract_learngene(create_model("resnet12"))
    with pytest.raises(
        LearngeneError,
        match=r"'features.stages.3.0.shortcut' \(1x1 kernel\) has no 1x1 layer left in ResNet \(the learngene has 4, the target 3\)",
    ):
        implant(resnet12, resnet18())
    with pytest.raises(
        LearngeneError,
        match=r"layer 'conv1': learngene block \(29, 3, 3, 3\) .*does not fit the target kernel \(64, 3, 7, 7\)",
    ):
        implant(gene, resnet18(), {"conv1": "features.stages.0.0"})
    target = implant(gene, resnet18(), {"layer1.0.conv2": "features.stages.1.0"})  # a subset is fine
    k_out, k_in = gene.channels["features.stages.1.0"]
    assert np.array_equal(
        target.layer1[0].conv2.weight[:k_out, :k_in].detach().numpy(), gene.tensors["features.stages.1.0.conv.weight"]
    )


def test_batchnorm_and_bias_must_have_somewhere_to_go():
    gene = extract_learngene(UserNet())
    plain = UserNet()
    plain.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.ReLU())
    with pytest.raises(
        LearngeneError,
        match=r"layer 'stem.0' of UserNet: the learngene's 'stem.0' has BatchNorm entries but this conv \(kernel \(16, 3, 3, 3\)\)",
    ):
        implant(gene, plain)
    no_bias = UserNet()
    no_bias.side = nn.Conv2d(16, 16, 1, bias=False)
    with pytest.raises(LearngeneError, match="layer 'side' of UserNet: the learngene's 'side' has a conv bias"):
        implant(gene, no_bias)


def test_grouped_and_depthwise_convs_are_refused_by_name():
    net = UserNet()
    net.block[0] = nn.Conv2d(16, 16, 3, padding=1, groups=16)
    with pytest.raises(LearngeneError, match=r"layer 'block.0': depthwise conv \(groups=16"):
        extract_learngene(net)
    net.block[0] = nn.Conv2d(16, 16, 3, padding=1, groups=4)
    with pytest.raises(LearngeneError, match=r"layer 'block.0': grouped conv \(groups=4"):
        implant(extract_learngene(UserNet()), net)
    with pytest.raises(LearngeneError, match="Linear.*no Conv2d"):
        extract_learngene(nn.Linear(3, 3))


def test_mutation_touches_conv_weights_only():
    gene = extract_learngene(UserNet())
    tensors, record = mutate_tensors(gene.tensors, "gaussian", 1.0, 0.1, np.random.default_rng(0))
    assert record.channels_total == sum(k_out for k_out, _ in gene.channels.values())
    mutant = gene.replace_tensors(tensors)
    for key in gene.tensors:
        assert np.array_equal(mutant.tensors[key], gene.tensors[key]) != key.endswith(".conv.weight")


@pytest.mark.parametrize("arch,kw", [("vgg11", {"depth": 13}), ("resnet12", {"depth": 2})])
def test_builtin_networks_keep_their_unit_names(arch, kw):
    model = create_model(arch, width=0.25, **kw)
    units = find_units(model)
    assert list(units) == list(model.units())
    assert [n for n, u in units.items() if u.is_input] == [n for n, u in model.units().items() if u.is_input]
