"""The two checks every value check is made of, and the bounds they use: one place for the
wording of "must be between" and "must be <=", so every message reads alike."""

from __future__ import annotations

from gtl_ray.errors import ConfigError

MAX_COUNT = 1_000_000  #: upper bound of every count (classes, images, epochs, episodes, ...)
MAX_WIDTH = 16.0  #: channel multiplier: x16 of VGG11 is already ~2.4e9 parameters
MAX_DEPTH = 32  #: VGG takes 11/13/16/19; ResNet12 blocks per stage
MAX_IMAGE_SIZE = 1024  #: pixels per side images are resized to
MAX_POPULATION = 100_000
MAX_RESOURCES = 1024  #: GPUs or CPUs per member or Ray Train workers
#: data made on the fly: class counts, data.num_classes x data.images_per_class
GENERATED_FORMATS = ("procedural", "glyphs")


def require(ok: bool, key: str, message: str) -> None:
    """ConfigError "`key`: `message`" unless `ok`."""
    if not ok:
        raise ConfigError(f"{key}: {message}")


def count(value: int | float, key: str, low: int | float = 1, high: int | float = MAX_COUNT) -> None:
    """`low <= value <= high`; the message names the bound that was broken."""
    require(value >= low, key, f"must be >= {low}, got {value}")
    require(value <= high, key, f"must be <= {high}, got {value}")
