import numpy as np
import pytest

from gtl_ray.evolution.mutation import list_mutations, mutate_tensors
from gtl_ray.seeding import numpy_rng


def _gene(rng):
    return {f"u{i}.conv.weight": rng.normal(size=(64, 32, 3, 3)).astype(np.float32) for i in range(6)} | {
        "u0.bn.weight": np.ones(64, np.float32)
    }


@pytest.mark.parametrize("operator", ["gaussian", "redraw"])
def test_mutation_rate_matches_and_only_masked_channels_change(operator):
    tensors = _gene(np.random.default_rng(0))
    out, record = mutate_tensors(tensors, operator, 0.1, 0.1, numpy_rng(0, "m"))
    assert record.channels_total == 6 * 64
    assert abs(record.channels_mutated / record.channels_total - 0.1) < 0.04
    changed = sum(
        int((~np.all(out[k] == v, axis=(1, 2, 3))).sum()) for k, v in tensors.items() if k.endswith("conv.weight")
    )
    assert changed == record.channels_mutated
    assert np.array_equal(out["u0.bn.weight"], tensors["u0.bn.weight"])


def test_gaussian_noise_scale_follows_sigma_and_inputs_stay_intact():
    tensors = _gene(np.random.default_rng(1))
    copy = {k: v.copy() for k, v in tensors.items()}
    out, _ = mutate_tensors(tensors, "gaussian", 1.0, 0.1, numpy_rng(0))
    delta = out["u1.conv.weight"] - tensors["u1.conv.weight"]
    assert delta.std() == pytest.approx(0.1 * tensors["u1.conv.weight"].std(), rel=0.05)
    assert all(np.array_equal(copy[k], tensors[k]) for k in tensors)


def test_rate_zero_changes_nothing_and_registry_lists_operators():
    tensors = _gene(np.random.default_rng(2))
    out, record = mutate_tensors(tensors, "gaussian", 0.0, 0.1, numpy_rng(0))
    assert record.channels_mutated == 0 and all(out[k] is tensors[k] for k in tensors)
    assert {"gaussian", "redraw"} <= set(list_mutations())
