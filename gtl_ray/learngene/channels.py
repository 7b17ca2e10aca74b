"""Channel spaces of a CNN, and a random chained choice of channels per space (the `random_slice`
baseline: the gene's shape, but a random choice of which channels instead of the first k).

A *channel space* is a set of feature maps whose channel i means the same thing everywhere:
a conv's output, carried unchanged through BatchNorm, activations and pooling, and merged with
every tensor it is added to (a residual addition makes the two branches one space). Choosing one
subset of channels per space keeps any choice chained: the channels a layer keeps as outputs are
the channels every reader of that space keeps as inputs, and both sides of a residual addition
keep the same ones. The spaces are read off a `torch.fx` trace of the network.
"""

from __future__ import annotations

import operator

import numpy as np
import torch
import torch.fx
from torch import nn

from gtl_ray.errors import LearngeneError
from gtl_ray.learngene.surgery import Channels, kept
from gtl_ray.learngene.units import find_units, model_name

_KEEPS_CHANNELS = (
    nn.BatchNorm2d,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.GELU,
    nn.SiLU,
    nn.Hardswish,
    nn.ELU,
    nn.Identity,
    nn.Dropout,
    nn.Dropout2d,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
)
_KEEPS_CHANNELS_CALLS = {
    torch.relu,
    nn.functional.relu,
    nn.functional.leaky_relu,
    nn.functional.gelu,
    nn.functional.silu,
    nn.functional.max_pool2d,
    nn.functional.avg_pool2d,
    nn.functional.adaptive_avg_pool2d,
    nn.functional.dropout,
    "relu",
    "relu_",
    "contiguous",
}
_ADDS = {operator.add, operator.iadd, torch.add, "add", "add_"}


class _Spaces:
    """Union-find over channel spaces, each with its channel count."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.size: list[int] = []

    def new(self, channels: int) -> int:
        self.parent.append(len(self.parent))
        self.size.append(channels)
        return len(self.parent) - 1

    def find(self, space: int) -> int:
        while self.parent[space] != space:
            self.parent[space] = self.parent[self.parent[space]]
            space = self.parent[space]
        return space

    def merge(self, a: int, b: int) -> None:
        self.parent[self.find(b)] = self.find(a)


def channel_spaces(model: nn.Module) -> tuple[dict[str, tuple[int, int]], dict[int, int]]:
    """({unit: (output space, input space)}, {space: channel count}) for every unit of `model`
    (`find_units`), spaces as representative ids. Raises LearngeneError when the network cannot
    be traced, or a unit reads a tensor whose channels cannot be followed (a concatenation, a
    reshape) back to a conv or the image."""
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception as exc:  # fx raises many types for dynamic control flow
        raise LearngeneError(
            f"{model_name(model)}: cannot trace the network to follow its channels ({type(exc).__name__}: {exc})"
        ) from None
    modules = dict(model.named_modules())
    spaces = _Spaces()
    of: dict[torch.fx.Node, int | None] = {}
    convs: dict[str, tuple[int, int | None]] = {}
    for node in graph.nodes:
        inputs = [of.get(a) for a in node.args if isinstance(a, torch.fx.Node)]
        first = inputs[0] if inputs else None
        if node.op == "placeholder":
            of[node] = spaces.new(3)
        elif node.op == "call_module" and isinstance(modules[node.target], nn.Conv2d):
            if node.target in convs:
                raise LearngeneError(
                    f"layer {node.target!r} of {model_name(model)} is called twice: a shared conv has no single "
                    "channel space"
                )
            of[node] = spaces.new(modules[node.target].out_channels)
            convs[node.target] = (of[node], first)
        elif node.op == "call_module":
            of[node] = first if isinstance(modules[node.target], _KEEPS_CHANNELS) else None
        elif node.op in ("call_function", "call_method") and node.target in _ADDS and None not in inputs and inputs:
            for other in inputs[1:]:
                spaces.merge(inputs[0], other)
            of[node] = inputs[0]
        elif node.op in ("call_function", "call_method") and node.target in _KEEPS_CHANNELS_CALLS:
            of[node] = first
        else:
            of[node] = None
    names = {id(module): name for name, module in model.named_modules()}
    units: dict[str, tuple[int, int]] = {}
    for name, unit in find_units(model).items():
        out_space, in_space = convs[names[id(unit.conv)]]
        if in_space is None:
            raise LearngeneError(
                f"layer {name!r} of {model_name(model)}: cannot follow its input channels back to a conv or the "
                "image (a concatenation or reshape on the way?)"
            )
        units[name] = (spaces.find(out_space), spaces.find(in_space))
    return units, {space: spaces.size[space] for pair in units.values() for space in pair}


def random_channels(model: nn.Module, rho: float, rng: np.random.Generator) -> Channels:
    """{unit: (output channels, input channels)}: per channel space of C channels a random choice
    of ceil(rho * C) of them (sorted), drawn from `rng` in forward order, shared by every layer
    writing or reading that space; a layer reading the image keeps all its inputs (as in a
    learngene). Pass it to `surgery.extract_tensors(model, rho, channels)`."""
    units, sizes = channel_spaces(model)
    chosen: dict[int, np.ndarray] = {}
    found = find_units(model)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, (out_space, in_space) in units.items():
        for space in (in_space, out_space):
            if space not in chosen:
                channels = sizes[space]
                everything = found[name].is_input and space == in_space
                chosen[space] = (
                    np.arange(channels)
                    if everything
                    else np.sort(rng.choice(channels, kept(channels, rho), replace=False))
                )
        out[name] = (chosen[out_space], chosen[in_space])
    return out
