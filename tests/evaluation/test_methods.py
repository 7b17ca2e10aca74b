"""The transfer-learning baselines beside the learngene: each does what its name says (narrow,
distilled, sparse, random_slice, aft), and incompatible choices are refused before any work."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch

from gtl_ray.config import AFTConfig
from gtl_ray.data import EpisodeSampler, load_splits, normalize
from gtl_ray.errors import ConfigError
from gtl_ray.evaluation.methods import Sources, finetune_objective, initialize, list_methods
from gtl_ray.evaluation.objectives import AFT, kernel_distance
from gtl_ray.evaluation.pretrain import _narrow, distill_narrow
from gtl_ray.evaluation.sources import prepare_sources
from gtl_ray.fewshot import finetune_accuracy, fresh_descendant
from gtl_ray.learngene import extract_learngene
from gtl_ray.learngene.channels import random_channels
from gtl_ray.learngene.narrow import narrow_network
from gtl_ray.learngene.surgery import extract_tensors, implant_tensors
from gtl_ray.learngene.transfer import magnitude_prune
from gtl_ray.learngene.units import find_units
from gtl_ray.models import create_model
from gtl_ray.recipe import config_recipe
from gtl_ray.torch_streams import torch_generator, torch_init_seed
from gtl_ray.training import frozen_embed
from tests.conftest import tiny

GENE_BASELINES = ["heuristic", "narrow", "distilled", "random_slice"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks train fastest on one thread (and many times slower on two of a busy
    machine's cores)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """(config, base, Prepared) with every baseline that needs no learngene (3 epochs of
    pre-training: after 1, the tiny teacher's features hardly vary between images)."""
    config = tiny("pretrain.epochs=3", "evaluation.distill.epochs=2")
    base = load_splits(config.data).base
    methods = ["scratch", "full", *GENE_BASELINES, "sparse", "aft"]
    return config, base, prepare_sources(config, methods, base, None, str(tmp_path_factory.mktemp("cache")))


def _randomized(arch: str, **kw) -> torch.nn.Module:
    """A network with random BatchNorm statistics and affine entries, in eval mode."""
    with torch_init_seed(0, "randomized", arch):
        model = create_model(arch, width=0.125, **kw)
        for unit in find_units(model).values():
            for key in ("weight", "bias", "running_mean"):
                getattr(unit.bn, key).data.normal_()
            unit.bn.running_var.data.uniform_(0.5, 2.0)
    return model.eval()


def test_every_baseline_is_registered():
    assert list_methods() == [
        "scratch",
        "full",
        "heuristic",
        "learngene",
        "narrow",
        "distilled",
        "sparse",
        "random_slice",
        "aft",
        "learngene+aft",
    ]


@pytest.mark.parametrize("arch, depth", [("vgg11", None), ("resnet12", 2)])
def test_narrow_network_has_exactly_the_genes_shape(arch, depth):
    model = create_model(arch, width=0.25, depth=depth, num_classes=7)
    gene = extract_learngene(model, 0.2)
    narrow = narrow_network(model, gene.rho)
    assert {k: v.shape for k, v in extract_tensors(narrow, 1.0).items()} == {
        k: v.shape for k, v in gene.tensors.items()
    }
    assert sum(p.numel() for p in narrow.features.parameters()) == gene.num_params
    assert narrow(torch.zeros(2, 3, 32, 32)).shape == (2, 7)
    # a width multiplier rounds otherwise: k = ceil(rho * C) is not round(C * width * rho)
    by_width = create_model(arch, width=0.25 * gene.rho, depth=depth)
    assert [u.conv.out_channels for u in find_units(by_width).values()] != [
        u.conv.out_channels for u in find_units(narrow).values()
    ]


def test_narrow_and_distilled_implant_gene_shaped_weights_of_their_own(prepared):
    config, _, p = prepared
    s = p.sources
    for name in ("narrow", "distilled", "random_slice"):
        gene = getattr(s, name)
        assert {k: v.shape for k, v in gene.tensors.items()} == {k: v.shape for k, v in s.heuristic.tensors.items()}
        assert gene.num_params == s.heuristic.num_params and gene.info["baseline"] == name
        assert not np.allclose(
            gene.tensors["features.stages.1.0.conv.weight"], s.heuristic.tensors["features.stages.1.0.conv.weight"]
        )
    assert not np.allclose(
        s.narrow.tensors["features.stages.1.0.conv.weight"], s.distilled.tensors["features.stages.1.0.conv.weight"]
    )
    model = fresh_descendant(config, 1, 0)
    initialize("narrow", model, s)
    block = s.narrow.tensors["features.stages.2.0.conv.weight"]
    assert np.array_equal(
        model.features.stages[2][0].conv.weight[: block.shape[0], : block.shape[1]].detach().numpy(), block
    )


def _best_linear_fit_error(student, teacher, images) -> float:
    """The distillation loss at the best projector: mean squared error of the least-squares
    linear map (with bias) from the student's pooled features (batch statistics, as in
    training; on a copy, whose running statistics this would move) to the teacher's."""
    x = normalize(images)
    with torch.no_grad():
        features = copy.deepcopy(student).train().embed(x)
    x = torch.cat([features, torch.ones(len(images), 1)], 1).double()
    y = frozen_embed(teacher, normalize(images)).double()
    w = torch.linalg.lstsq(x, y).solution
    return float(((x @ w - y) ** 2).mean())


def test_distillation_lowers_the_distillation_loss(prepared, tmp_path):
    config, base, p = prepared
    teacher, rho = p.sources.teacher, p.sources.heuristic.rho
    before, _ = _narrow(config, base, rho)
    after = distill_narrow(config, base, rho, teacher, str(tmp_path))
    images = base.images[:200]
    assert _best_linear_fit_error(after, teacher, images) < 0.9 * _best_linear_fit_error(before, teacher, images)


def test_sparse_transfers_exactly_the_share_by_magnitude():
    source, target = _randomized("vgg11"), create_model("vgg11", width=0.125)
    original = {n: u.conv.weight.detach().clone() for n, u in find_units(target).items()}
    keep = extract_learngene(source, 0.2).num_params
    sparse = magnitude_prune(source, keep)
    kept = sum(int(m.sum()) for m in sparse.masks.values()) + sum(
        2 * u.bn.num_features for u in find_units(source).values()
    )
    assert sparse.kept == kept == keep and sparse.share == pytest.approx(keep / source.backbone_parameter_count())
    weights = {n: u.conv.weight.detach().abs() for n, u in find_units(source).items()}
    smallest_kept = min(float(w[sparse.masks[n]].min()) for n, w in weights.items() if sparse.masks[n].any())
    largest_pruned = max(float(w[~sparse.masks[n]].max()) for n, w in weights.items())
    assert smallest_kept >= largest_pruned
    sparse.copy_into(target)
    for name, unit in find_units(target).items():
        mask, w = sparse.masks[name], unit.conv.weight.detach()
        assert torch.equal(w[mask], find_units(source)[name].conv.weight.detach()[mask])
        assert torch.equal(w[~mask], original[name][~mask])  # pruned: the descendant's own init
        assert torch.equal(unit.bn.running_var, find_units(source)[name].bn.running_var)


def test_sparse_method_matches_the_genes_parameter_budget(prepared):
    _, base, p = prepared
    assert p.sources.sparse.kept == p.sources.heuristic.num_params
    assert (
        p.transferred["sparse"] == pytest.approx(p.transferred["heuristic"]) and 0.15 < p.transferred["sparse"] < 0.25
    )
    assert p.transferred["full"] == 1.0 and p.transferred["scratch"] == p.transferred["aft"] == 0.0
    cost = p.sample_grads["full"]
    assert cost == 3 * len(base)
    assert p.sample_grads == {
        "scratch": 0,
        "full": cost,
        "heuristic": cost,
        "narrow": cost,
        "distilled": cost + 2 * len(base),
        "random_slice": cost,
        "sparse": cost,
        "aft": cost,
    }


def test_random_slice_is_seeded_and_not_the_prefix():
    model = _randomized("resnet12", depth=2)
    rho = extract_learngene(model, 0.2).rho
    draw = lambda seed: random_channels(model, rho, np.random.default_rng(seed))  # noqa: E731
    a, b, c = draw(1), draw(1), draw(2)
    assert all(np.array_equal(a[u][0], b[u][0]) and np.array_equal(a[u][1], b[u][1]) for u in a)
    assert any(not np.array_equal(a[u][0], c[u][0]) for u in a)
    prefix = extract_tensors(model, rho)
    sliced = extract_tensors(model, rho, a)
    assert {k: v.shape for k, v in sliced.items()} == {k: v.shape for k, v in prefix.items()}
    assert sum(not np.array_equal(sliced[k], prefix[k]) for k in prefix) > len(prefix) // 2


def test_random_slice_is_chained_through_residual_additions():
    """Cut the connections from unchosen to chosen channels: the chosen channels then compute on
    their own, so the narrow network holding the slice must compute exactly those channels."""
    model = _randomized("resnet12", depth=2)  # blocks with 1x1 and identity shortcuts
    rho = extract_learngene(model, 0.2).rho
    channels = random_channels(model, rho, np.random.default_rng(0))
    with torch.no_grad():
        for name, unit in find_units(model).items():
            rows, cols = (torch.as_tensor(c) for c in channels[name])
            outside = torch.ones(unit.conv.in_channels, dtype=torch.bool)
            outside[cols] = False
            unit.conv.weight[rows[:, None], outside.nonzero()[:, 0]] = 0.0
    narrow = narrow_network(model, rho).eval()
    implant_tensors(extract_tensors(model, rho, channels), narrow, None)
    x = torch.randn(2, 3, 32, 32)
    last = channels[list(channels)[-1]][0]
    torch.testing.assert_close(narrow.features(x), model.features(x)[:, last], rtol=1e-4, atol=1e-5)


def test_aft_regularizer_is_zero_at_the_teachers_projection():
    teacher = _randomized("vgg11")
    with torch_init_seed(0, "aft"):
        phi = torch.randn(10, teacher.feature_dim)
        kernel = AFT(teacher, teacher.feature_dim, AFTConfig(projector="kernel"))
        kernel.scales.data.normal_()
        rotation, _ = torch.linalg.qr(torch.randn(teacher.feature_dim, teacher.feature_dim))
        linear = AFT(teacher, 6, AFTConfig(projector="linear"))
        student = torch.randn(10, 6)
    kernel.scales.requires_grad_(False)
    weighted = phi * torch.sigmoid(kernel.scales)
    assert float(kernel.regularizer(weighted, phi)) == pytest.approx(0.0, abs=1e-5)
    assert float(kernel.regularizer(3.0 * weighted @ rotation + 1.0, phi)) == pytest.approx(0.0, abs=1e-5)
    assert float(kernel.regularizer(student, phi)) > 0.1
    linear.requires_grad_(False)
    projected = linear.projector(phi)
    assert float(linear.regularizer(projected + 2.0, phi)) == pytest.approx(0.0, abs=1e-10)
    assert float(linear.regularizer(student, phi)) > 0.1
    assert float(kernel_distance(phi, phi)) == pytest.approx(0.0, abs=1e-6)


def test_aft_changes_the_fine_tuned_weights(prepared):
    config, _, _ = prepared
    task = EpisodeSampler(load_splits(config.data).novel, 5, 2, 3, 1, seed=0)[0]
    sources = Sources(teacher=_randomized("vgg11"))

    def finetuned(method: str, aft: AFTConfig) -> tuple[torch.Tensor, int]:
        model = fresh_descendant(config, 2, 0)
        with torch_init_seed(0, "projector"):
            objective = finetune_objective(method, model, dataclasses.replace(sources, aft=aft))
        _, spent = finetune_accuracy(
            model, task, config.evaluation, torch_generator(0, "ft"), objective=objective, recipe=config_recipe(config)
        )
        return torch.cat([p.detach().flatten() for p in model.parameters()]), spent

    plain, spent = finetuned("scratch", AFTConfig())
    assert torch.equal(finetuned("aft", AFTConfig(beta=0.0))[0], plain)  # beta 0: exactly plain fine-tuning
    for projector in ("kernel", "linear"):
        regularized, aft_spent = finetuned("aft", AFTConfig(beta=1.0, projector=projector))
        assert not torch.allclose(regularized, plain) and aft_spent == spent


def test_incompatible_methods_are_refused_before_any_work():
    with pytest.raises(
        ConfigError,
        match=r"'sparse' needs a descendant of the ancestry network's shape.*no place in a network of another width.*narrow",
    ):
        tiny("evaluation.methods=[scratch, sparse]", "evaluation.descendant.width=0.25")
    tiny(
        "evaluation.methods=[scratch, narrow, distilled, random_slice, aft]", "evaluation.descendant.width=0.25"
    )  # wider: fine
    with pytest.raises(ConfigError, match=r"'narrow'.*does not fit evaluation.descendant"):
        tiny("evaluation.methods=[narrow]", "evaluation.descendant.width=0.03125")
    with pytest.raises(ConfigError, match=r"'aft'.*evaluation.finetune=linear"):
        tiny("evaluation.methods=[aft]", "evaluation.finetune=linear")
    with pytest.raises(ConfigError, match=r"unknown method 'sprase'; choose from scratch, full, .*random_slice"):
        tiny("evaluation.methods=[sprase]")
    with pytest.raises(ConfigError, match="more than once"):
        tiny("evaluation.methods=[aft, aft]")
    with pytest.raises(ConfigError, match="evaluation.aft.beta"):
        tiny("evaluation.aft.beta=-1")
    with pytest.raises(ConfigError, match="evaluation.distill.lr"):
        tiny("evaluation.distill.lr=0")


def test_cli_refuses_before_ray_starts(capsys, tmp_path):
    from gtl_ray.cli import main

    args = ["evaluate", "configs/quickstart.yaml", "--storage", str(tmp_path)]
    assert main(args + ["--methods", "all"]) == 2
    err = capsys.readouterr().err
    assert (
        "'learngene', 'learngene+aft'" in err
        and "--methods scratch,full,heuristic,narrow,distilled,sparse,random_slice,aft" in err
    )
    assert main(args + ["--methods", "scratch,sparse", "--set", "evaluation.descendant.width=0.5"]) == 2
    assert "'sparse' needs a descendant of the ancestry network's shape" in capsys.readouterr().err


def test_teacher_is_the_full_network_when_shapes_agree(prepared):
    assert prepared[2].sources.teacher is prepared[2].sources.pretrained
