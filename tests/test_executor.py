"""gtl_ray.executor: work items one after another in this process, with torch's thread count set
while the batch runs and restored after it."""

from __future__ import annotations

import pytest
import torch

from gtl_ray.executor import InProcess


def _scaled(shared: int, item: int) -> tuple[int, int]:
    return shared * item, torch.get_num_threads()


def test_items_in_order_with_the_threads_asked_for_then_restored():
    before = torch.get_num_threads()
    results = list(InProcess(threads=1).map(_scaled, 3, [1, 2, 4]))
    assert results == [(0, (3, 1)), (1, (6, 1)), (2, (12, 1))]
    assert torch.get_num_threads() == before


def test_zero_threads_are_refused():
    with pytest.raises(ValueError, match="threads must be >= 1"):
        InProcess(threads=0)
