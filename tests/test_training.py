"""gtl_ray.training: predictions, accuracy and features of uint8 images, in eval mode."""

from __future__ import annotations

import torch

from gtl_ray import create_model
from gtl_ray.training import accuracy, embed, predict


def test_accuracy_is_the_share_of_predictions_that_match():
    model = create_model("vgg11", width=0.125, num_classes=3)
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    predicted = predict(model, images, batch_size=4)
    assert predicted.shape == (6,) and not model.training
    assert accuracy(model, images, predicted) == 1.0
    assert accuracy(model, images, (predicted + 1) % 3) == 0.0
    assert embed(model, images).shape == (6, model.feature_dim)
