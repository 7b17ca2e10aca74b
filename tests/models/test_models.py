import pytest
import torch

from gtl_ray import create_model, list_models
from gtl_ray.errors import ConfigError


@pytest.mark.parametrize("arch", ["vgg11", "resnet12"])
@pytest.mark.parametrize("size", [32, 84])
def test_forward_shapes_at_both_image_sizes(arch, size):
    model = create_model(arch, width=0.25, num_classes=7)
    assert model(torch.zeros(2, 3, size, size)).shape == (2, 7)
    assert model.embed(torch.zeros(2, 3, size, size)).shape == (2, model.feature_dim)


def test_width_scales_channels_and_depth_adds_units():
    base, wide = create_model("vgg11"), create_model("vgg11", width=2.0)
    assert wide.feature_dim == 2 * base.feature_dim
    assert len(create_model("vgg11", depth=13).units()) == len(base.units()) + 2
    assert len(create_model("resnet12", depth=2).units()) == len(create_model("resnet12").units()) + 12


def test_head_is_separate_and_replaceable():
    model = create_model("resnet12", width=0.25, num_classes=5)
    model.reset_head(11)
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 11)
    assert not any(name.startswith("head") for name in model.units())


def test_unknown_architecture_lists_registered():
    with pytest.raises(ConfigError, match="registered: .*resnet12.*vgg11"):
        create_model("alexnet")
    assert {"vgg11", "resnet12"} <= set(list_models())


def test_bad_depth_is_refused():
    with pytest.raises(ConfigError, match="model.depth"):
        create_model("vgg11", depth=12)
