"""Compute settings (`gtl_ray/compute.py`) and the training loop that uses them: the random draws
of a fit planned up front equal drawing step by step (the CPU results of earlier versions), the
device-resident and host data paths give the same member, layouts and precisions, and bf16
end to end within noise of fp32."""

from __future__ import annotations

import math
import statistics

import pytest
import torch
from torch import nn

from gtl_ray.compute import CPU, Compute, compute_for, resident, to_host
from gtl_ray.data import augment, load_splits, normalize, sample_task
from gtl_ray.errors import ConfigError
from gtl_ray.evaluation import evaluate
from gtl_ray.evolution import evolve_local
from gtl_ray.evolution.lifetime import live
from gtl_ray.models import create_model
from gtl_ray.seeding import numpy_rng
from gtl_ray.torch_streams import torch_generator
from gtl_ray.training import SGDSettings, _batches, fit


def fit_step_by_step(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, settings: SGDSettings, generator: torch.Generator
) -> None:
    """The training loop as it was before `Plan`: draws interleaved with the steps, on the CPU."""
    optimizer = torch.optim.SGD(
        model.parameters(), lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay
    )
    batches = list(_batches(len(images), settings, generator))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, len(batches)))
    model.train()
    for index in batches:
        x = normalize(images[index])
        if settings.augment:
            x = augment(x, generator)
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), labels[index]).backward()
        optimizer.step()
        schedule.step()


def small_net() -> nn.Module:
    torch.manual_seed(3)
    return create_model("vgg11", width=0.125, num_classes=4)


@pytest.mark.parametrize(
    "settings",
    [
        SGDSettings(lr=0.05, batch_size=16, epochs=2),
        SGDSettings(lr=0.05, batch_size=16, steps=3),
        SGDSettings(lr=0.05, batch_size=16, epochs=1, augment=False),
    ],
)
def test_a_planned_fit_equals_drawing_step_by_step(settings):
    images = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8, generator=torch_generator(1, "img"))
    labels = torch.arange(40) % 4
    planned, stepped = small_net(), small_net()
    spent = fit(planned, images, labels, settings, torch_generator(7, "fit"))
    fit_step_by_step(stepped, images, labels, settings, torch_generator(7, "fit"))
    assert spent == (settings.steps * 16 if settings.steps else settings.epochs * 40)
    for (name, a), b in zip(planned.state_dict().items(), stepped.state_dict().values()):
        assert torch.equal(a, b), name


def test_device_resident_and_host_paths_give_the_same_member(tiny_config):
    """On CPU the member's 'device' copy is its host memory, so both paths must agree bit for bit
    (on a GPU the device path gathers, normalizes and augments there with the same draws)."""
    outcomes = []
    for on_device in ("true", "false"):
        config = tiny_config(
            f"population.data_on_device={on_device}", "evolution.fitness=descendant", "evolution.fitness_episodes=1"
        )
        base = load_splits(config.data).base
        outcomes.append(live(config, resident(base, config, compute_for(config, "cpu")), 1, 2, None, "cpu"))
    a, b = outcomes
    assert (a.gene.checksum, a.fitness, a.lifetime_accuracy, a.environment) == (
        b.gene.checksum,
        b.fitness,
        b.lifetime_accuracy,
        b.environment,
    )


def test_episodes_are_gathered_where_the_images_live(tiny_config):
    base = load_splits(tiny_config().data).base
    moved = base.to("cpu")
    assert moved is base  # nothing to copy: already there
    task = sample_task(base, 3, 2, 1, numpy_rng(0, "t"))
    assert {t.device.type for t in (task.support_x, task.support_y, task.query_x, task.query_y)} == {"cpu"}


def test_compute_settings_and_refusals():
    with pytest.raises(ConfigError, match="population.precision: fp16 needs a CUDA device"):
        Compute("cpu", "fp16")
    with pytest.raises(ConfigError, match="choose one of fp32, bf16, fp16"):
        Compute("cpu", "int8")
    bf16 = Compute("cpu", "bf16", channels_last=True)
    net = bf16.place(small_net())
    assert net.features.stages[0][0].conv.weight.is_contiguous(memory_format=torch.channels_last)
    x = bf16.inputs(normalize(torch.zeros((2, 3, 32, 32), dtype=torch.uint8)))
    assert x.is_contiguous(memory_format=torch.channels_last)
    with bf16.autocast():
        assert net(x).dtype == torch.bfloat16
    assert all(p.is_contiguous() for p in to_host(net).parameters())
    with CPU.autocast():
        assert small_net()(x).dtype == torch.float32
    assert not CPU.scaler().is_enabled()


def test_compile_trains_through_torch_compile(monkeypatch):
    compiled = []
    monkeypatch.setattr(torch, "compile", lambda model: compiled.append(model) or model)
    net = small_net()
    images, labels = torch.zeros((8, 3, 32, 32), dtype=torch.uint8), torch.arange(8) % 4
    fit(net, images, labels, SGDSettings(lr=0.01, batch_size=4), torch_generator(0, "c"), Compute(compile=True))
    assert compiled == [net]


@pytest.mark.slow
def test_bf16_runs_end_to_end_within_noise_of_fp32(tiny_config, tmp_path):
    """Same seed, same environments and births: the mean fitness over P x G members differs by
    less than 3 standard errors of a difference of two such means (each member's fitness is a
    query accuracy over n_way x query_per_class images; CPU autocast in bf16)."""
    learn = [
        "lifetime.epochs=5",
        "lifetime.train_per_class=15",
        "lifetime.query_per_class=5",
        "evolution.generations=2",
    ]
    runs = {
        p: evolve_local(tiny_config(*learn, f"population.precision={p}", name=p), cache_dir=str(tmp_path))
        for p in ("fp32", "bf16")
    }
    means = {p: statistics.fmean(r.fitness for r in run.lineage) for p, run in runs.items()}
    n = len(runs["fp32"].lineage) * 5 * 5
    noise = 3 * math.sqrt(2 * means["fp32"] * (1 - means["fp32"]) / n)
    assert means["fp32"] > 0.3 and abs(means["bf16"] - means["fp32"]) < noise, (means, noise)
    config = tiny_config("population.precision=bf16", "evaluation.episodes=2", name="bf16-eval")
    table = evaluate(config, runs["bf16"].final, methods=["scratch", "learngene"], cache_dir=str(tmp_path))
    assert all(
        0.0 <= s.accuracy <= 1.0 and 0.0 <= s.instinct <= 1.0
        for episodes in table.scores.values()
        for e in episodes
        for s in e.values()
    )
