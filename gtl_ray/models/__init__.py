"""Ancestry and descendant networks, built by name: `create_model("vgg11", width=2.0)`."""

from __future__ import annotations

import fnmatch
from typing import Callable

from gtl_ray.errors import ConfigError
from gtl_ray.models.layers import ConvBN, Network
from gtl_ray.models.resnet12 import resnet12
from gtl_ray.models.vgg import vgg

_REGISTRY: dict[str, Callable[..., Network]] = {}


def register_model(name: str, builder: Callable[..., Network]) -> None:
    _REGISTRY[name] = builder


def list_models(pattern: str = "*") -> list[str]:
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def create_model(arch: str, *, width: float = 1.0, depth: int | None = None, num_classes: int = 5) -> Network:
    """Build a registered network; unknown names list the registered ones."""
    if arch not in _REGISTRY:
        raise ConfigError(f"model.arch: unknown architecture {arch!r}; registered: {', '.join(list_models())}")
    if width <= 0:
        raise ConfigError(f"model.width: must be > 0, got {width}")
    return _REGISTRY[arch](width=width, depth=depth, num_classes=num_classes)


register_model("vgg11", lambda **kw: vgg(**{**kw, "depth": kw.get("depth") or 11}))
register_model("vgg13", lambda **kw: vgg(**{**kw, "depth": kw.get("depth") or 13}))
register_model("resnet12", resnet12)

__all__ = ["ConvBN", "Network", "create_model", "list_models", "register_model"]
