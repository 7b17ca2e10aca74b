"""The pre-flight: every check of the user's input that can run before Ray starts, in one place.

- config values (`values`, `data_values`, `evaluation_values`): every command, through
  `load_config`;
- data fit (`data_fit`): `evolve`, once the splits are loaded;
- gene fits descendant (`genes`): `evaluate` and `descend` with `--learngene`, and the gene-shaped
  baselines of `evaluation.methods`;
- cluster room (`room`): `evolve`, before a local Ray starts and once a cluster is joined.

Each failure is a GTLError naming the key, file or value (exit 2 in the CLI).
"""

from __future__ import annotations

from pathlib import Path

from gtl_ray.config import GTLConfig, read_config
from gtl_ray.packing import with_packs_resolved
from gtl_ray.preflight.values import check_values


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> GTLConfig:
    """Read a YAML config (or the defaults when `path` is None), apply `key=value` overrides,
    and check every value; `population.members_per_actor: auto` comes back as the K it means
    (`gtl_ray.packing`). Raises ConfigError naming the file, key or value at fault."""
    config = read_config(path, overrides)
    check_values(config)
    return with_packs_resolved(config)


__all__ = ["check_values", "load_config"]
