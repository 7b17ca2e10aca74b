"""A recipe as an optimizer (`gtl_ray.finetune`): the stages of VGG and ResNet12, parameter groups
at the stages' learning rates, the config's recipe fine-tuning exactly as one plain SGD group,
and the cost of a recipe known before it runs."""

from __future__ import annotations

import copy
from dataclasses import replace

import torch

from gtl_ray.data import EpisodeSampler, load_splits
from gtl_ray.fewshot import finetune_accuracy
from gtl_ray.finetune import HEAD, STAGES, episode_batch, finetune_sample_grads, finetune_setup, stage_of
from gtl_ray.learngene.units import find_units
from gtl_ray.models import create_model
from gtl_ray.recipe import config_recipe
from gtl_ray.torch_streams import torch_generator, torch_init_seed
from gtl_ray.training import SGDSettings, fit
from tests.conftest import tiny


def unit_stages(model) -> list[int]:
    stages = stage_of(model)
    return [stages[f"{name}.conv.weight"] for name in find_units(model)]


def test_stages_are_thirds_of_the_conv_units_in_forward_order_then_the_head():
    vgg, resnet = create_model("vgg11", width=0.125), create_model("resnet12", width=0.125)
    assert unit_stages(vgg) == [0, 0, 0, 1, 1, 1, 2, 2]  # VGG11: 8 convs
    assert unit_stages(resnet) == [0] * 6 + [1] * 5 + [2] * 5  # ResNet12: 4 blocks x (3 convs + shortcut)
    for model in (vgg, resnet):
        stages = stage_of(model)
        assert set(stages) == {name for name, _ in model.named_parameters()}
        assert {stages["head.weight"], stages["head.bias"]} == {HEAD} and len(STAGES) == 4
        units = find_units(model)
        for name in units:  # a unit's conv and BatchNorm share a stage
            assert stages[f"{name}.bn.weight"] == stages[f"{name}.bn.bias"] == stages[f"{name}.conv.weight"]


def test_parameter_groups_carry_each_stage_learning_rate():
    model = create_model("vgg11", width=0.125)
    recipe = replace(config_recipe(tiny()), lr=0.1, lr_mult_early=0.5, lr_mult_late=2.0, lr_mult_head=4.0, steps=7)
    settings, groups = finetune_setup(model, recipe, 25)
    assert [g["lr"] for g in groups] == [0.05, 0.1, 0.2, 0.4]
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    assert settings.steps == 7 and settings.weight_decay == recipe.weight_decay and settings.momentum == 0.9
    assert finetune_setup(model, recipe, 64, epochs=1)[0].steps is None  # descend: epochs, not steps
    optimizer = torch.optim.SGD(groups, lr=settings.lr)
    assert [g["lr"] for g in optimizer.param_groups] == [0.05, 0.1, 0.2, 0.4]


def _task(config):
    return EpisodeSampler(load_splits(config.data).novel, 5, 2, 3, 1, seed=0)[0]


def test_the_config_recipe_fine_tunes_exactly_as_one_plain_sgd_group():
    """What fine-tuning was before recipes: one group at evaluation.lr, weight decay 5e-4."""
    config = tiny()
    task = _task(config)
    with torch_init_seed(0, "model"):
        model = create_model("vgg11", width=0.125, num_classes=5)
    plain, grouped = copy.deepcopy(model), copy.deepcopy(model)
    ev = config.evaluation
    settings = SGDSettings(lr=ev.lr, momentum=0.9, weight_decay=5e-4, batch_size=10, steps=ev.steps, augment=True)
    spent = fit(plain, task.support_x, task.support_y, settings, torch_generator(0, "ft"))
    _, grouped_spent = finetune_accuracy(grouped, task, ev, torch_generator(0, "ft"), recipe=config_recipe(config))
    assert spent == grouped_spent == finetune_sample_grads(config_recipe(config), len(task.support_x))
    for a, b in zip(plain.state_dict().values(), grouped.state_dict().values()):
        assert torch.equal(a, b)


def test_a_stage_multiplier_changes_only_what_it_should():
    config = tiny()
    task = _task(config)
    with torch_init_seed(0, "model"):
        model = create_model("vgg11", width=0.125, num_classes=5)
    runs = {}
    for name, mult in (("base", 1.0), ("frozen-ish", 1e-12)):
        trained = copy.deepcopy(model)
        recipe = replace(config_recipe(config), lr_mult_early=mult, steps=3)
        finetune_accuracy(trained, task, config.evaluation, torch_generator(0, "ft"), recipe=recipe)
        runs[name] = trained
    first, head = "features.stages.0.0.conv.weight", "head.weight"
    before = dict(model.named_parameters())
    slow = dict(runs["frozen-ish"].named_parameters())
    assert torch.allclose(slow[first], before[first], atol=1e-6)  # lr ~0 (weight decay scaled by it too)
    assert not torch.allclose(dict(runs["base"].named_parameters())[first], before[first])
    assert not torch.allclose(slow[head], before[head])


def test_the_cost_of_a_recipe_is_known_before_it_runs():
    recipe = replace(config_recipe(tiny()), steps=9)
    assert finetune_sample_grads(recipe, 10) == 90 and finetune_sample_grads(recipe, 100) == 9 * 25
    assert finetune_sample_grads(recipe, 100, linear=True) == 900 and episode_batch(7) == 7
