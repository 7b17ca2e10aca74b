"""Image-folder data sets: one sub-folder per class, images inside (png, jpg, jpeg, bmp, webp).

Only the classes a split needs are decoded. Works on local paths and storage URIs.
"""

from __future__ import annotations

import numpy as np
import torch

from gtl_ray import storage
from gtl_ray.config import DataConfig
from gtl_ray.data.imageset import ImageSet, decode_image, decode_many
from gtl_ray.data.splits import (
    SPLIT_NAMES,
    DataCheck,
    Splits,
    assign_classes,
    is_empty_spec,
    register_check,
    register_source,
    split_specs,
    warn_overlap,
)
from gtl_ray.errors import DataError, StorageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def class_folders(location: str) -> list[str]:
    """Sorted names of the class sub-folders of `location` (hidden entries skipped)."""
    if not storage.exists(location):
        raise DataError(f"image folder {location!r} not found")
    if not storage.is_dir(location):
        raise DataError(f"image folder {location!r} is not a folder")
    names = [
        n for n in storage.list_dir(location) if not n.startswith(".") and storage.is_dir(storage.join(location, n))
    ]
    if not names:
        raise DataError(f"image folder {location!r} has no class sub-folders")
    return names


def image_files(location: str, class_name: str) -> list[str]:
    """The image files of one class folder (by extension, hidden files skipped), sorted."""
    folder = storage.join(location, class_name)
    files = [f for f in storage.list_dir(folder) if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith(".")]
    if not files:
        raise DataError(f"class folder {folder!r} has no images ({', '.join(IMAGE_EXTENSIONS)})")
    return [storage.join(folder, f) for f in files]


def read_classes(location: str, class_names: list[str], size: int) -> ImageSet:
    """The images of the given class sub-folders of `location`, labelled in the given order."""
    paths: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(class_names):
        files = image_files(location, name)
        paths.extend(files)
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


def split_classes(config: DataConfig) -> dict[str, tuple[str, list[str]] | None]:
    """(folder, class folder names) of each split, None for an absent split, without reading images.

    Either every split is a sub-path of `data.path` (a folder of class folders of its own), or
    `data.path` holds all class folders and the splits are class counts (a seeded draw from the
    sorted folder names) or lists of folder names.
    """
    root = str(config.path)
    specs = split_specs(config)
    out: dict[str, tuple[str, list[str]] | None]
    if any(isinstance(spec, str) for spec in specs.values()):
        bad = [s for s, spec in specs.items() if not (isinstance(spec, str) or is_empty_spec(spec))]
        if bad:
            raise DataError(f"data.splits.{bad[0]}: when one split is a sub-path, all must be (got {specs[bad[0]]!r})")
        out = {}
        for split, spec in specs.items():
            location = None if is_empty_spec(spec) else _under(root, spec)
            out[split] = None if location is None else (location, class_folders(location))
    else:
        names = class_folders(root)
        ids = assign_classes(names, specs, config.seed, f"image folder {root!r}")
        out = {s: None if ids[s] is None else (root, [names[i] for i in ids[s]]) for s in SPLIT_NAMES}
    if out["base"] is None or out["novel"] is None:
        raise DataError("data.splits: base and novel must not be empty for folder")
    return out


@register_source("folder")
def load_folder(config: DataConfig) -> Splits:
    """Splits of `data.path` (see `split_classes`); `val` may be absent (`splits.val` is then None)."""
    parts = {
        s: None if c is None else read_classes(c[0], c[1], config.image_size) for s, c in split_classes(config).items()
    }
    splits = Splits(base=parts["base"], val=parts["val"], novel=parts["novel"])
    warn_overlap(splits, f"image folder {config.path!r}")
    return splits


@register_check("folder")
def check_folder(config: DataConfig) -> DataCheck:
    """Every split's class folders exist and hold image files; the first image of each split is
    read and decoded."""
    checked = []
    for split, classes in split_classes(config).items():
        if classes is None:
            checked.append(f"{split}: none")
            continue
        location, names = classes
        files = [image_files(location, name) for name in names]
        try:
            first = storage.read_bytes(files[0][0])
        except StorageError as exc:
            raise DataError(f"cannot read image {files[0][0]!r}: {exc}") from None
        decode_image(first, config.image_size, repr(files[0][0]))
        checked.append(f"{split}: {len(names)} classes, {sum(map(len, files))} image files under {location}")
    return DataCheck(
        checked,
        ["only the first image of each split was decoded; the others are decoded when evolve / evaluate load the data"],
    )
