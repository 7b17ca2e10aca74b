"""Value checks of the `data` section: sizes, class splits, what generated data can hold."""

from __future__ import annotations

from gtl_ray import storage
from gtl_ray.config import DataConfig
from gtl_ray.errors import ConfigError, quote
from gtl_ray.preflight.rules import GENERATED_FORMATS, MAX_COUNT, MAX_IMAGE_SIZE, count, require


def check_data_values(data: DataConfig) -> None:
    """Sizes, split specs and the generated formats' class and image counts."""
    count(data.image_size, "data.image_size", low=8, high=MAX_IMAGE_SIZE)
    require(data.seed >= 0, "data.seed", f"must be >= 0, got {data.seed}")
    count(data.num_classes, "data.num_classes")
    count(data.images_per_class, "data.images_per_class")
    if data.format in ("cifar100", "folder") and not data.path:
        raise ConfigError(f"data.path: required for data.format={data.format}")
    splits = data.splits
    for name in ("base", "val", "novel"):
        spec = getattr(splits, name)
        key = f"data.splits.{name}"
        if isinstance(spec, int):
            require(
                spec >= 0 if name == "val" else spec >= 2,
                key,
                f"class count must be >= {0 if name == 'val' else 2}, got {spec}",
            )
            require(spec <= MAX_COUNT, key, f"class count must be <= {MAX_COUNT}, got {spec}")
        if isinstance(spec, list):
            bad = next(
                (c for c in spec if isinstance(c, bool) or not isinstance(c, (str, int)) or len(str(c)) > 256), None
            )
            require(
                bad is None and len(spec) <= MAX_COUNT,
                key,
                f"must list at most {MAX_COUNT} class names (strings of at most 256 characters), got "
                f"{quote(bad if bad is not None else spec)}",
            )
        if data.format == "parquet":
            require(
                isinstance(spec, str) or (name == "val" and spec in (None, 0)),
                key,
                f"data.format=parquet needs a file or folder path per split, got {quote(spec)}",
            )
    if data.format in GENERATED_FORMATS:
        counts = [0 if getattr(splits, n) is None else getattr(splits, n) for n in ("base", "val", "novel")]
        require(
            all(isinstance(c, int) for c in counts),
            "data.splits",
            f"{data.format} data takes class counts, got {quote(counts)}",
        )
        require(
            sum(counts) <= data.num_classes,
            "data.splits",
            f"base+val+novel = {sum(counts)} classes but data.num_classes is {data.num_classes}",
        )
        require(data.images_per_class >= 2, "data.images_per_class", f"must be >= 2, got {data.images_per_class}")
        decoded = data.num_classes * data.images_per_class * 3 * data.image_size**2
        require(
            decoded <= storage.limit("decoded"),
            "data.images_per_class",
            f"data.num_classes x data.images_per_class images of {data.image_size} px take {decoded} bytes, more "
            f"than {storage.limit('decoded')} (GTL_RAY_MAX_DECODED_BYTES)",
        )
