"""Vectorized packs (`gtl_ray/training_vectorized.py`, `gtl_ray/models/stacked.py`, and
`evolution.lifetime.live_together`): K networks trained as one network of grouped convolutions
get, each, what it gets trained alone, to float tolerance.

The reference is the networks trained alone in the layout the stacked network computes in
(channels-last on CPU), with one torch thread as a member of the tiny config has: a changed
summation order (grouped kernels, another layout, another thread count alike) now and then flips
a max-pooling window whose two largest values are within rounding of each other, which moves the
weights upstream of it by ~1e-3 (measured: 1 thread vs 2, same code, same layout). So weights are
compared by the relative norm of their difference per tensor, which such a flip leaves small and
a member trained on another member's batch, channels or labels would not."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from gtl_ray.compute import CPU, Compute
from gtl_ray.data import load_splits
from gtl_ray.evolution import evolve_local
from gtl_ray.evolution.lifetime import live, live_together, newborn
from gtl_ray.learngene import extract_learngene
from gtl_ray.models import create_model
from gtl_ray.models.stacked import side_by_side, stack, stackable, unstack
from gtl_ray.torch_streams import torch_generator, torch_init_seed
from gtl_ray.training import SGDSettings, fit
from gtl_ray.training_vectorized import fit_together

CHANNELS_LAST = Compute(channels_last=True)
SETTINGS = SGDSettings(lr=0.05, batch_size=8, steps=4)
TOLERANCE = 1e-3  #: largest ||a - b|| / ||b|| of a trained tensor (weights, running statistics)


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def networks(k: int, arch: str = "vgg11") -> list[torch.nn.Module]:
    nets = []
    for m in range(k):
        with torch_init_seed(5, "net", m):
            nets.append(create_model(arch, width=0.125, num_classes=4))
    return nets


def member_data(k: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [
        (
            torch.randint(0, 256, (24, 3, 32, 32), dtype=torch.uint8, generator=torch_generator(1, "img", m)),
            torch.arange(24) % 4,
        )
        for m in range(k)
    ]


def relative_difference(a: dict, b: dict) -> float:
    """The largest ||a[k] - b[k]|| / ||b[k]|| over the float tensors (torch or numpy) of two states."""
    pairs = [(torch.as_tensor(a[k]), torch.as_tensor(b[k])) for k in b]
    return max(float((x - y).norm() / y.norm()) for x, y in pairs if y.dtype.is_floating_point and y.norm() > 0)


def test_stack_then_unstack_gives_every_network_back_and_computes_each_member():
    nets = networks(3)
    stacked = stack(nets)
    copies = networks(3)
    with torch.no_grad():
        for copied in copies:
            for value in copied.state_dict().values():
                value.zero_()
    unstack(stacked, copies)
    for net, back in zip(nets, copies):
        assert all(torch.equal(x, y) for x, y in zip(net.state_dict().values(), back.state_dict().values()))
    x = torch.randn(3, 2, 3, 32, 32, generator=torch_generator(0, "x"))  # (K, B, C, H, W)
    together = stacked.eval()(side_by_side(x))
    assert together.shape == (2, 3, 4)  # (B, K, classes)
    for k, net in enumerate(nets):
        assert torch.allclose(together[:, k], net.eval()(x[k]), atol=1e-5)


@pytest.mark.parametrize("arch", ["vgg11", "resnet12"])
def test_fitting_together_gives_each_network_what_it_learns_alone(arch):
    nets, data = networks(3, arch), member_data(3)
    alone = [CHANNELS_LAST.place(copy.deepcopy(n)) for n in nets]
    spent_alone = [
        fit(net, x, y, SETTINGS, torch_generator(2, "fit", m), CHANNELS_LAST)
        for m, (net, (x, y)) in enumerate(zip(alone, data))
    ]
    together = [copy.deepcopy(n) for n in nets]
    spent = fit_together(together, data, SETTINGS, [torch_generator(2, "fit", m) for m in range(3)])
    assert spent == spent_alone == [SETTINGS.steps * SETTINGS.batch_size] * 3
    for net, start, reference in zip(together, nets, alone):
        assert relative_difference(net.state_dict(), reference.state_dict()) < TOLERANCE
        assert relative_difference(net.state_dict(), start.state_dict()) > 10 * TOLERANCE  # it did learn


def test_networks_that_cannot_share_a_stack_train_alone_exactly_as_fit_does():
    """Different shapes, a network outside the built-in families and one with work after each
    step: each is trained by `fit` itself, bit for bit."""
    odd = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(4))
    odd(torch.zeros(1, 3, 32, 32))
    wide = create_model("vgg11", width=0.25, num_classes=4)
    narrow, clipped = networks(2)
    assert not stackable(odd) and stackable(wide)
    clip = lambda: clipped.head.bias.data.clamp_(-0.01, 0.01)  # noqa: E731
    models = [odd, wide, narrow, clipped]
    references = [copy.deepcopy(m) for m in models]
    data = member_data(4)
    fit_together(
        models, data, SETTINGS, [torch_generator(3, m) for m in range(4)], after_steps=[None, None, None, clip]
    )
    clip_reference = lambda: references[3].head.bias.data.clamp_(-0.01, 0.01)  # noqa: E731
    for m, (reference, (x, y)) in enumerate(zip(references, data)):
        fit(reference, x, y, SETTINGS, torch_generator(3, m), CPU, after_step=clip_reference if m == 3 else None)
        assert all(torch.equal(a, b) for a, b in zip(models[m].state_dict().values(), reference.state_dict().values()))


def packed_config(tiny_config, *extra: str, name: str = "tiny"):
    """Genes with a zero rest (the shipped configs): members learn as narrow networks."""
    return tiny_config("evaluation.rest_init=scaled", "evaluation.rest_scale=0", "lifetime.epochs=3", *extra, name=name)


def test_a_vectorized_pack_lives_each_member_as_it_lives_alone(tiny_config):
    """Per member: the gene passed on, the lifetime accuracy, the fitness (descendant fitness:
    the gene scored in fresh networks) and the environment; the narrow networks of two genes
    share a stack, the member born with a random gene (a wide network) trains alone."""
    config = packed_config(tiny_config, "evolution.fitness=descendant", "evolution.fitness_episodes=1")
    base = load_splits(config.data).base
    genes = [extract_learngene(newborn(config, 0, m), config.learngene.share) for m in (7, 8)] + [None]
    alone = live_together(
        dataclasses.replace(config, population=dataclasses.replace(config.population, channels_last=True)),
        base,
        1,
        [0, 1, 2],
        genes,
    )
    together = live_together(config, base, 1, [0, 1, 2], genes, vectorized=True)
    for a, b in zip(alone, together):
        assert (a.fitness, a.lifetime_accuracy, a.environment) == (b.fitness, b.lifetime_accuracy, b.environment)
        assert (a.lifetime_sample_grads, a.fitness_sample_grads) == (b.lifetime_sample_grads, b.fitness_sample_grads)
        assert relative_difference(b.gene.tensors, a.gene.tensors) < TOLERANCE
    assert alone[0].gene.checksum != together[0].gene.checksum  # float tolerance, not bit for bit
    assert live(config, base, 1, 2, None).gene.checksum == together[2].gene.checksum  # alone: `fit` itself


@pytest.mark.slow
def test_vectorized_packs_keep_the_lineage_of_members_living_alone(tiny_config, tmp_path):
    """evolve_local with packs of 2: the same parents, elites, fitness and lifetime accuracy in
    every generation as sequential lifetimes in the same layout. The genes drift apart by more
    each generation (a lifetime starts from the last one's slightly different gene): after 3,
    the final gene's tensors within a few percent (measured 1.7% on this config)."""
    config = packed_config(tiny_config, "evolution.generations=3", "population.members_per_actor=2")
    runs = {}
    for pack, layout in (("vectorized", "false"), ("sequential", "true")):
        runs[pack] = evolve_local(
            packed_config(
                tiny_config,
                "evolution.generations=3",
                "population.members_per_actor=2",
                f"population.pack={pack}",
                f"population.channels_last={layout}",
                name=pack,
            ),
            cache_dir=str(tmp_path),
        )
    together, alone = runs["vectorized"], runs["sequential"]
    for a, b in zip(alone.lineage, together.lineage):
        assert (a.parent, a.elite, a.fitness, a.lifetime_accuracy) == (
            b.parent,
            b.elite,
            b.fitness,
            b.lifetime_accuracy,
        )
    assert len(together.lineage) == config.population.size * 3
    assert relative_difference(together.final.tensors, alone.final.tensors) < 0.05
