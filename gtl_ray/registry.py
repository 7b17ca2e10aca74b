"""Registries by name (timm-style) for data sources, mutation operators and evaluation methods:
register with a decorator, list the names, look one up with an error that lists the known ones."""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from gtl_ray.errors import GTLError

T = TypeVar("T")


class Registry(Generic[T]):
    """Args:
    key: the config key whose values name entries (used in error messages).
    error: the GTLError subclass raised for an unknown name.
    """

    def __init__(self, key: str, error: type[GTLError]):
        self.key = key
        self.error = error
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def wrap(entry: T) -> T:
            self._entries[name] = entry
            return entry

        return wrap

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise self.error(f"{self.key}: unknown {name!r}; registered: {', '.join(sorted(self._entries))}")
        return self._entries[name]
