"""Which layers of a network a learngene is made of: its conv(+BatchNorm) *units*, for any CNN.

A unit is a Conv2d and, when there is one, the BatchNorm2d that normalizes its output. The
built-in networks are made of `ConvBN` modules, each one unit named by its module name
(`features.stages.0.0`). Any other `nn.Module` is read by registration order (`named_modules()`):

- every Conv2d is a unit, named by its qualified module name (`layer1.0.conv1`);
- it is paired with the next BatchNorm2d registered after it, before any other Conv2d, when that
  BatchNorm's num_features equals the conv's out_channels (conv, bn, relu as in torchvision's
  ResNet and VGG-BN); a BatchNorm that normalizes a block's *input* (pre-activation designs) or
  has no affine weights / running statistics stays outside the learngene;
- the first conv, and every conv with exactly 3 input channels (another conv reading the RGB
  image, such as a stem shortcut), *reads the image*: a learngene keeps all its input channels.

No graph tracing is needed: a learngene keeps a channel prefix whose length depends only on each
layer's channel count, so the kept outputs of one layer are the kept inputs of the next through
plain chains, residual additions and concatenations alike. Grouped and depthwise convolutions
(groups > 1) are refused: their kernels do not see the channel prefix of their input.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from gtl_ray.errors import LearngeneError
from gtl_ray.models.layers import ConvBN, Network

IMAGE_CHANNELS = 3


@dataclass(frozen=True, eq=False)
class Unit:
    """One conv layer of a learngene's network.

    Args:
        conv: the convolution; its kernel block W[:k_out, :k_in] belongs to the learngene.
        bn: the BatchNorm2d normalizing the conv's output (its first k_out entries belong to the
            learngene), or None.
        is_input: the conv reads the image; a learngene keeps all its input channels.
    """

    conv: nn.Conv2d
    bn: nn.BatchNorm2d | None
    is_input: bool

    @property
    def kernel(self) -> tuple[int, int]:
        return tuple(self.conv.weight.shape[2:])

    @property
    def has_bias(self) -> bool:
        return self.conv.bias is not None


def model_name(model: nn.Module) -> str:
    """How errors name a network: the registered arch of a built-in one, else its class name."""
    return getattr(model, "arch", None) or type(model).__name__


def _pairable(bn: nn.BatchNorm2d, conv: nn.Conv2d) -> bool:
    return (
        bn.num_features == conv.out_channels
        and bn.affine
        and bn.running_mean is not None
        and bn.running_var is not None
    )


def find_units(model: nn.Module) -> dict[str, Unit]:
    """Every unit of `model` by name, in registration (for usual networks: forward) order.

    Raises LearngeneError for a grouped or depthwise conv, or a network with no Conv2d.
    """
    units: dict[str, Unit] = {}
    inside: str | None = None  # a ConvBN whose children are already counted
    waiting: str | None = None  # a conv that may still get the next BatchNorm2d
    for name, module in model.named_modules():
        if inside is not None and name.startswith(inside + "."):
            continue
        inside = None
        if isinstance(module, ConvBN):
            _check_groups(name, module.conv)
            units[name] = Unit(module.conv, module.bn, module.is_input)
            inside, waiting = name, None
        elif isinstance(module, nn.Conv2d):
            _check_groups(name, module)
            first = not units
            units[name] = Unit(module, None, first or module.in_channels == IMAGE_CHANNELS)
            waiting = name
        elif isinstance(module, nn.BatchNorm2d) and waiting is not None:
            if _pairable(module, units[waiting].conv):
                units[waiting] = Unit(units[waiting].conv, module, units[waiting].is_input)
            waiting = None
    if not units:
        raise LearngeneError(f"{model_name(model)} has no Conv2d layer: a learngene is made of conv layers")
    return units


def _check_groups(name: str, conv: nn.Conv2d) -> None:
    if conv.groups != 1:
        kind = "depthwise" if conv.groups == conv.in_channels else "grouped"
        raise LearngeneError(
            f"layer {name!r}: {kind} conv (groups={conv.groups}, {conv.in_channels}->{conv.out_channels} channels) "
            "is not supported: a learngene keeps a channel prefix of every conv, which a grouped kernel does not see"
        )


def backbone_parameter_count(model: nn.Module) -> int:
    """The denominator of a learngene's share: a built-in network's feature extractor, or every
    Conv2d and BatchNorm2d parameter of any other module (classifier Linear layers excluded)."""
    if isinstance(model, Network):
        return model.backbone_parameter_count()
    layers = (m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d)))
    return sum(p.numel() for m in layers for p in m.parameters(recurse=False))
