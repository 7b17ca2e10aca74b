"""How a descendant is initialized before it meets a new task, by name:

- `scratch`: random initialization only;
- `full`: every backbone weight from a network pre-trained on all base classes (100% transfer);
- `heuristic`: the learngene's channel slots copied from that pre-trained network (no evolution);
- `learngene`: the evolved learngene implanted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from gtl_ray.errors import ConfigError
from gtl_ray.learngene import Learngene, implant
from gtl_ray.learngene.transfer import copy_backbone
from gtl_ray.models import Network
from gtl_ray.registry import Registry


@dataclass
class Sources:
    """What the initializers draw from; a field is None when no chosen method needs it.
    `rest_init` / `rest_scale` (evaluation.*) shape the weights outside an implanted gene's
    slots, for every method that implants one."""

    learngene: Learngene | None = None
    heuristic: Learngene | None = None
    pretrained: Network | None = None
    rest_init: str = "default"
    rest_scale: float = 0.1

    def implant(self, gene: Learngene, model: Network) -> None:
        implant(gene, model, rest_init=self.rest_init, rest_scale=self.rest_scale)


Initializer = Callable[[Network, Sources], None]
METHODS: Registry[Initializer] = Registry("evaluation.methods", ConfigError)


def register_method(name: str) -> Callable[[Initializer], Initializer]:
    return METHODS.register(name)


def list_methods() -> list[str]:
    return METHODS.names()


def initializer(name: str) -> Initializer:
    return METHODS.get(name)


@register_method("scratch")
def _scratch(model: Network, sources: Sources) -> None:
    pass


@register_method("full")
def _full(model: Network, sources: Sources) -> None:
    copy_backbone(sources.pretrained, model)


@register_method("heuristic")
def _heuristic(model: Network, sources: Sources) -> None:
    sources.implant(sources.heuristic, model)


@register_method("learngene")
def _learngene(model: Network, sources: Sources) -> None:
    sources.implant(sources.learngene, model)
