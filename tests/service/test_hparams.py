"""gtl_ray.service.hparams: a run's config as flat hyperparameters for TensorBoard's HParams."""

from __future__ import annotations

from gtl_ray.service.hparams import hyperparameters


def test_the_config_flattens_to_numbers_booleans_strings_and_json():
    flat = hyperparameters({"model": {"arch": "vgg11", "width": 1}, "augment": True, "shots": [1, 5], "seed": None})
    assert flat == {"model.arch": "vgg11", "model.width": 1.0, "augment": True, "shots": "[1, 5]", "seed": "null"}
