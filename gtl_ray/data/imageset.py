"""The in-memory image set every data source produces and every consumer reads.

All images of a split live in one uint8 tensor: small enough for the data sets GTL targets
(CIFAR-FS, miniImageNet at 84x84 is ~1.3 GB), trivially shared through the Ray object store via
`to_arrays`, and fast to index for episodes without a DataLoader.
"""

from __future__ import annotations

import io
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from gtl_ray.errors import DataError


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Images of some classes, all of one size.

    Args:
        images: uint8 tensor (N, 3, S, S); grey sources are repeated to 3 channels.
        labels: int64 tensor (N,), class ids in [0, len(class_names)).
        class_names: name of each class id, e.g. CIFAR fine-label names or "proc_017".
    """

    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    _index_cache: list = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4 or self.images.shape[1] != 3:
            raise DataError(
                f"ImageSet.images must be uint8 (N, 3, S, S), got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if self.images.shape[2] != self.images.shape[3]:
            raise DataError(f"ImageSet.images must be square, got {tuple(self.images.shape[2:])}")
        if self.labels.dtype != torch.int64 or self.labels.shape != (self.images.shape[0],):
            raise DataError(
                f"ImageSet.labels must be int64 ({self.images.shape[0]},), got {self.labels.dtype} "
                f"{tuple(self.labels.shape)}"
            )
        object.__setattr__(self, "class_names", tuple(str(n) for n in self.class_names))
        if len(set(self.class_names)) != len(self.class_names):
            raise DataError(f"ImageSet.class_names has duplicates: {self.class_names}")
        if len(self.labels) and (int(self.labels.min()) < 0 or int(self.labels.max()) >= len(self.class_names)):
            low, high = int(self.labels.min()), int(self.labels.max())
            raise DataError(f"ImageSet.labels out of range [0, {len(self.class_names)}): {low}..{high}")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    def indices_by_class(self) -> list[np.ndarray]:
        """Image indices of each class id, in dataset order; computed once (episodes hit it often)."""
        if not self._index_cache:
            labels = self.labels.cpu().numpy()
            order = np.argsort(labels, kind="stable")
            bounds = np.searchsorted(labels[order], np.arange(self.num_classes + 1))
            self._index_cache.extend(order[bounds[c] : bounds[c + 1]] for c in range(self.num_classes))
        return self._index_cache

    def to(self, device: torch.device | str) -> ImageSet:
        """The same images and labels on `device` (a member's copy of its base classes on its GPU,
        made once); `self` when they are there already."""
        if self.images.device == torch.device(device):
            return self
        return ImageSet(self.images.to(device), self.labels.to(device), self.class_names)

    def subset_classes(self, class_ids: Sequence[int]) -> ImageSet:
        """The images of `class_ids`, relabelled 0..k-1 in the given order."""
        class_ids = [int(c) for c in class_ids]
        bad = [c for c in class_ids if not 0 <= c < self.num_classes]
        if bad:
            raise DataError(f"class ids {bad} out of range: the set has {self.num_classes} classes")
        groups = self.indices_by_class()
        index = np.concatenate([groups[c] for c in class_ids]) if class_ids else np.zeros(0, np.int64)
        labels = np.repeat(np.arange(len(class_ids)), [len(groups[c]) for c in class_ids])
        return ImageSet(
            images=self.images[torch.from_numpy(index)],
            labels=torch.from_numpy(labels.astype(np.int64)),
            class_names=tuple(self.class_names[c] for c in class_ids),
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain numpy arrays (zero-copy readable from the Ray object store, no pickled tensors)."""
        return {
            "images": self.images.numpy(),
            "labels": self.labels.numpy(),
            "class_names": np.asarray(self.class_names, dtype=str),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> ImageSet:
        """Inverse of `to_arrays`; read-only arrays (object store) are copied once."""
        images = np.asarray(arrays["images"])
        labels = np.asarray(arrays["labels"])
        if not images.flags.writeable:
            images = images.copy()
        if not labels.flags.writeable:
            labels = labels.copy()
        return cls(
            images=torch.from_numpy(images),
            labels=torch.from_numpy(labels.astype(np.int64, copy=False)),
            class_names=tuple(str(n) for n in arrays["class_names"]),
        )


def from_groups(groups: Sequence[np.ndarray], class_names: Sequence[str]) -> ImageSet:
    """An ImageSet from one uint8 (n_c, 3, S, S) array per class, in class order."""
    images = np.concatenate(groups) if len(groups) else np.zeros((0, 3, 1, 1), np.uint8)
    labels = np.repeat(np.arange(len(groups), dtype=np.int64), [len(g) for g in groups])
    return ImageSet(torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels), tuple(class_names))


IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "GIF")  #: what decode_image accepts (no EPS, no plugins that shell out)


def decode_image(data: bytes, size: int, where: str) -> np.ndarray:
    """Encoded PNG/JPEG/... bytes -> uint8 (3, size, size); `where` names the file/row on failure.

    The header's width x height is checked against storage.max_image_pixels() before anything
    is decoded, so an image declaring a huge size costs nothing."""
    from PIL import Image, UnidentifiedImageError

    from gtl_ray.storage import max_image_pixels

    # Pillow only warns between MAX_IMAGE_PIXELS and twice that: make it an error like above it.
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as img:
            width, height = img.size
            if width * height > max_image_pixels():
                raise DataError(
                    f"image {where}: its header declares {width}x{height} pixels, more than {max_image_pixels()} "
                    "(GTL_RAY_MAX_IMAGE_PIXELS)"
                )
            img = img.convert("RGB")
            if img.size != (size, size):
                img = img.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise DataError(f"cannot decode image {where}: {' '.join(str(exc).split())[:200]}") from None


def decode_many(count: int, fetch: Callable[[int], bytes], where: Callable[[int], str], size: int) -> np.ndarray:
    """Fetch and decode `count` images -> uint8 (count, 3, size, size), threaded (Pillow and file
    reads release the GIL); the first failure raises, naming `where(i)`."""
    from gtl_ray.storage import limit

    need = count * 3 * size * size
    if need > limit("decoded"):
        raise DataError(
            f"{count} images of {size}x{size} px take {need} bytes decoded, more than {limit('decoded')}: lower "
            "data.image_size or set GTL_RAY_MAX_DECODED_BYTES"
        )
    out = np.empty((count, 3, size, size), dtype=np.uint8)

    def work(i: int) -> None:
        out[i] = decode_image(fetch(i), size, where(i))

    if count < 64:
        for i in range(count):
            work(i)
        return out
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for _ in pool.map(work, range(count)):
            pass
    return out
