"""The only place gtl_ray reads YAML (configs and `--set` values, parsed with bounds) and writes
it (`gtl-ray config`: an effective config that reads back as the same config).

PyYAML's SafeLoader never builds arbitrary objects, but on its own it accepts a few hostile or
surprising documents; this loader refuses them before anything is expanded or replaced:

- more than MAX_ALIASES aliases (a "billion laughs" alias bomb) or nesting deeper than MAX_DEPTH
  (which would otherwise end in a RecursionError);
- a key given twice in one mapping (a second `population:` section would silently replace the
  first);
- and it reads numbers in exponent form without a dot (`1e-9`, `5E3`) as floats, as YAML 1.2
  does, where PyYAML's YAML 1.1 rules make them strings.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode

from gtl_ray import storage
from gtl_ray.errors import ConfigError, StorageError

MAX_ALIASES = 100  #: aliases (`*name`) in one document
MAX_DEPTH = 32  #: nesting of mappings and sequences
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader with alias, depth and duplicate-key limits (see the module docstring)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases (a YAML alias bomb?)")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.YAMLError(f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: SafeLoader reports it below
                break
            if duplicate:
                raise ConstructorError(None, None, f"duplicate key {key!r:.60}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


_BoundedLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))


def parse(text: str, source: str) -> Any:
    """The YAML document in `text`; ConfigError naming `source` when it is not valid or
    breaks a limit."""
    loader = None
    try:
        loader = _BoundedLoader(text)  # its reader refuses control characters such as NUL
        return loader.get_single_data()
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply") from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: an int of > 4300 digits, a bad date
        raise ConfigError(f"{source}: not valid YAML: {' '.join(str(exc).split())[:300]}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_mapping(path: str) -> dict[str, Any]:
    """A YAML config file as a mapping (empty file: {}), read through the bounded reader."""
    try:
        data = storage.read_bytes(str(path), "config")
    except StorageError as exc:  # missing, a FIFO, a folder, too big
        message = str(exc)
        raise ConfigError(
            f"config file not found: {path}" if message.startswith("file not found") else f"config file {message}"
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); a config is a YAML text file") from None
    loaded = parse(text, str(path))
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(loaded).__name__}")
    return loaded or {}


def dump(mapping: dict[str, Any]) -> str:
    """A config mapping as block YAML, keys in the config's own order; `parse` reads it back as
    the same mapping (floats keep a dot or an exponent, strings that look like numbers stay quoted)."""
    return yaml.safe_dump(mapping, sort_keys=False, default_flow_style=False, allow_unicode=True)
