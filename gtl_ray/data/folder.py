"""Image-folder data sets: one sub-folder per class, images inside (png, jpg, jpeg, bmp, webp).

Only the classes a split needs are decoded. Works on local paths and storage URIs.
"""
from __future__ import annotations

import numpy as np
import torch

from gtl_ray import storage
from gtl_ray.config import DataConfig
from gtl_ray.data.imageset import ImageSet, decode_many
from gtl_ray.data.splits import SPLIT_NAMES, Splits, assign_classes, is_empty_spec, register_source, split_specs, warn_overlap
from gtl_ray.errors import DataError, StorageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def class_folders(location: str) -> list[str]:
    """Sorted names of the class sub-folders of `location` (hidden entries skipped)."""
    if not storage.exists(location):
        raise DataError(f"image folder {location!r} not found")
    if not storage.is_dir(location):
        raise DataError(f"image folder {location!r} is not a folder")
    names = [n for n in storage.list_dir(location) if not n.startswith(".") and storage.is_dir(storage.join(location, n))]
    if not names:
        raise DataError(f"image folder {location!r} has no class sub-folders")
    return names


def read_classes(location: str, class_names: list[str], size: int) -> ImageSet:
    """The images of the given class sub-folders of `location`, labelled in the given order."""
    paths: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(class_names):
        folder = storage.join(location, name)
        files = [f for f in storage.list_dir(folder) if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith(".")]
        if not files:
            raise DataError(f"class folder {folder!r} has no images ({', '.join(IMAGE_EXTENSIONS)})")
        paths.extend(storage.join(folder, f) for f in files)
        labels.extend([label] * len(files))

    def fetch(i: int) -> bytes:
        try:
            return storage.read_bytes(paths[i], "image")
        except StorageError as exc:
            raise DataError(f"cannot read image {paths[i]!r}: {exc}") from None

    images = decode_many(len(paths), fetch, lambda i: repr(paths[i]), size)
    return ImageSet(torch.from_numpy(images), torch.tensor(np.asarray(labels, dtype=np.int64)), tuple(class_names))


def _under(root: str, sub: str) -> str:
    return sub if storage.is_uri(sub) or sub.startswith("/") else storage.join(root, sub)


@register_source("folder")
def load_folder(config: DataConfig) -> Splits:
    """Splits of `data.path`: class counts (seeded split of the sorted class folders), lists of class
    names, or sub-paths (each a folder of class folders, relative to `data.path`)."""
    root = str(config.path)
    specs = split_specs(config)
    parts: dict[str, ImageSet | None]
    if any(isinstance(spec, str) for spec in specs.values()):
        bad = [s for s, spec in specs.items() if not (isinstance(spec, str) or is_empty_spec(spec))]
        if bad:
            raise DataError(f"data.splits.{bad[0]}: when one split is a sub-path, all must be (got {specs[bad[0]]!r})")
        parts = {}
        for split, spec in specs.items():
            if is_empty_spec(spec):
                parts[split] = None
            else:
                location = _under(root, spec)
                parts[split] = read_classes(location, class_folders(location), config.image_size)
    else:
        names = class_folders(root)
        ids = assign_classes(names, specs, config.seed, f"image folder {root!r}")
        parts = {s: None if ids[s] is None else read_classes(root, [names[i] for i in ids[s]], config.image_size) for s in SPLIT_NAMES}
    if parts["base"] is None or parts["novel"] is None:
        raise DataError("data.splits: base and novel must not be empty for folder")
    splits = Splits(base=parts["base"], val=parts["val"], novel=parts["novel"])
    warn_overlap(splits, f"image folder {root!r}")
    return splits
