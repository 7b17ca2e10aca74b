"""gtl_ray.torch_streams: a torch generator per named stream, and torch's global generator seeded
inside a block only (what runs after the block draws as if the block had not run)."""

from __future__ import annotations

import torch

from gtl_ray.torch_streams import torch_generator, torch_init_seed


def test_a_generator_per_stream():
    same = [torch.rand(4, generator=torch_generator(5, "init", 1)) for _ in range(2)]
    other = torch.rand(4, generator=torch_generator(5, "init", 2))
    assert torch.equal(same[0], same[1]) and not torch.equal(same[0], other)


def test_the_global_generator_is_seeded_inside_the_block_only():
    with torch_init_seed(1, "model"):
        first = torch.nn.Linear(3, 2).weight.detach().clone()
    torch.manual_seed(123)
    expected_after = torch.rand(3)
    torch.manual_seed(123)
    with torch_init_seed(1, "model"):
        again = torch.nn.Linear(3, 2).weight.detach().clone()
    assert torch.equal(first, again) and torch.equal(torch.rand(3), expected_after)
