"""Mutation operators on learngenes, by name: `gaussian` noise or a `redraw` of whole channels.

Each output channel of every conv block is mutated with probability `rate`; BatchNorm entries
are left alone. Operators are pure: they take a numpy Generator and return new arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from gtl_ray.errors import ConfigError
from gtl_ray.registry import Registry

Operator = Callable[[np.ndarray, np.ndarray, float, np.random.Generator], np.ndarray]
OPERATORS: Registry[Operator] = Registry("evolution.mutation_operator", ConfigError)


@dataclass(frozen=True)
class MutationRecord:
    operator: str  #: operator name, or "none" for elites and generation 0
    channels_mutated: int
    channels_total: int


def register_mutation(name: str) -> Callable[[Operator], Operator]:
    return OPERATORS.register(name)


def list_mutations() -> list[str]:
    return sorted(OPERATORS.names())


@register_mutation("gaussian")
def gaussian(block: np.ndarray, mask: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add noise of std `sigma` x (the block's std) to the masked output channels."""
    out = block.copy()
    scale = sigma * float(block.std())
    out[mask] += rng.normal(0.0, scale, size=out[mask].shape).astype(block.dtype)
    return out


@register_mutation("redraw")
def redraw(block: np.ndarray, mask: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Re-draw the masked output channels from a zero-mean normal with the block's std (a fresh
    initialization at the scale the layer has), forgetting what they had learned."""
    out = block.copy()
    out[mask] = rng.normal(0.0, float(block.std()), size=out[mask].shape).astype(block.dtype)
    return out


def mutate_tensors(
    tensors: dict[str, np.ndarray], operator: str, rate: float, sigma: float, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], MutationRecord]:
    """Apply `operator` to every conv block's output channels with probability `rate` each."""
    fn = OPERATORS.get(operator)
    out: dict[str, np.ndarray] = {}
    mutated = total = 0
    for key, value in tensors.items():
        if not key.endswith(".conv.weight"):
            out[key] = value
            continue
        mask = rng.random(value.shape[0]) < rate
        mutated += int(mask.sum())
        total += value.shape[0]
        out[key] = fn(value, mask, sigma, rng) if mask.any() else value
    return out, MutationRecord(operator, mutated, total)
