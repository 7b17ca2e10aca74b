"""gtl_ray.data.transforms: images scaled for the network, and augmentation drawn from a stream."""

from __future__ import annotations

import pytest
import torch

from gtl_ray.data.transforms import augment, normalize, resize_images
from gtl_ray.torch_streams import torch_generator


def test_normalize_maps_uint8_to_the_networks_scale_once():
    x = torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    assert torch.allclose(normalize(x)[0, 0, 0], torch.tensor([-2.0, 2.0]))
    with pytest.raises(TypeError, match="already normalized"):
        normalize(normalize(x))


def test_augmentation_is_seeded_and_keeps_the_shape():
    x = torch.randn(4, 3, 8, 8)
    a, b = augment(x, torch_generator(0, "aug")), augment(x, torch_generator(0, "aug"))
    assert a.shape == x.shape and torch.equal(a, b)


def test_resize_to_the_configured_size():
    images = torch.zeros(3, 3, 32, 32, dtype=torch.uint8)
    assert resize_images(images, 16).shape == (3, 3, 16, 16)
