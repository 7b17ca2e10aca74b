"""CIFAR-FS: CIFAR-100 (binary version) split by class as in Bertinetto et al. 2019 (64/16/20).

Reads `cifar-100-binary.tar.gz` or its extracted folder through gtl_ray.storage (local or URI),
never unpickles (the Python version of CIFAR is a pickle; the binary version is raw bytes).
train.bin and test.bin are merged, giving 600 images per class.
"""

from __future__ import annotations

import io
import tarfile

import numpy as np

from gtl_ray import formats, storage
from gtl_ray.config import DataConfig, SplitSpec
from gtl_ray.data.imageset import ImageSet, from_groups
from gtl_ray.data.splits import (
    SPLIT_NAMES,
    DataCheck,
    Splits,
    is_empty_spec,
    read_class_list,
    read_head,
    register_check,
    register_source,
)
from gtl_ray.data.transforms import resize_images
from gtl_ray.errors import DataError, StorageError
from gtl_ray.seeding import numpy_rng

RECORD_BYTES = 2 + 3 * 32 * 32  #: coarse label, fine label, then R, G, B planes of 32x32
FILES = ("train.bin", "test.bin", "fine_label_names.txt")
GZIP_MAGIC = b"\x1f\x8b"
CIFAR_FS_LISTS = {"base": "cifar_fs_train", "val": "cifar_fs_val", "novel": "cifar_fs_test"}


def read_cifar_files(path: str) -> dict[str, bytes]:
    """The three files, from the extracted folder or the .tar.gz (or .tar) archive at `path`.

    The archive is read whole through the bounded reader and inflated explicitly with a size and
    ratio limit (`formats.inflate`); a member may not claim more bytes than the archive holds."""
    if not storage.exists(path):
        raise DataError(f"data.path: CIFAR-100 location {path!r} not found")
    if storage.is_dir(path):
        out = {}
        for name in FILES:
            location = storage.join(path, name)
            if not storage.exists(location):
                raise DataError(f"CIFAR-100 folder {path!r} has no {name} (expected {', '.join(FILES)})")
            try:
                out[name] = storage.read_bytes(location, "data")
            except StorageError as exc:
                raise DataError(f"cannot read CIFAR-100 file: {exc}") from None
        return out
    try:
        data = storage.read_bytes(path, "data")
        if data[:2] == GZIP_MAGIC:
            data = formats.inflate(data, f"CIFAR-100 archive {path!r}")
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            members = {m.name.rsplit("/", 1)[-1]: m for m in archive.getmembers() if m.isfile()}
            missing = [name for name in FILES if name not in members]
            if missing:
                raise DataError(
                    f"CIFAR-100 archive {path!r} has no {', '.join(missing)} (is it cifar-100-binary.tar.gz?)"
                )
            return {name: archive.extractfile(members[name]).read() for name in FILES}
    except (tarfile.TarError, EOFError, OSError, StorageError) as exc:
        raise DataError(f"cannot read CIFAR-100 archive {path!r}: {exc}") from None


def parse_records(data: bytes, name: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Records of a CIFAR-100 .bin file -> images uint8 (n, 3, 32, 32), fine labels (n,)."""
    if len(data) == 0 or len(data) % RECORD_BYTES:
        raise DataError(
            f"CIFAR-100 file {name}: {len(data)} bytes is not a whole number of {RECORD_BYTES}-byte records"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    fine = records[:, 1].astype(np.int64)
    if fine.max() >= num_classes:
        row = int(np.argmax(fine >= num_classes))
        raise DataError(
            f"CIFAR-100 file {name}: record {row} has fine label {fine[row]}, but there are {num_classes} class names"
        )
    return records[:, 2:].reshape(-1, 3, 32, 32), fine


def _split_names(split: str, spec: SplitSpec | None, seed: int) -> list[str] | None:
    """Class names of one split: the CIFAR-FS list (a seeded subset if a smaller count) or a list."""
    if is_empty_spec(spec):
        return None
    if isinstance(spec, list):
        return [str(n) for n in spec]
    if isinstance(spec, int) and not isinstance(spec, bool):
        names = read_class_list(CIFAR_FS_LISTS[split])
        if spec > len(names):
            raise DataError(
                f"data.splits.{split}: {spec} classes asked but the CIFAR-FS {split} split has {len(names)}"
            )
        keep = np.sort(numpy_rng(seed, "split", split).choice(len(names), size=spec, replace=False))
        return [names[i] for i in keep]
    raise DataError(
        f"data.splits.{split}: cifar100 takes a class count (CIFAR-FS split) or a list of class names, got {spec!r}"
    )


@register_source("cifar100")
def load_cifar100(config: DataConfig) -> Splits:
    """CIFAR-FS splits; an int split is the CIFAR-FS class list of that split (its full length by
    default, else a seeded subset of it), a list names CIFAR-100 fine classes explicitly."""
    files = read_cifar_files(str(config.path))
    try:
        label_names = [line.strip() for line in files["fine_label_names.txt"].decode().splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise DataError(f"CIFAR-100 data at {config.path!r}: fine_label_names.txt is not UTF-8 text") from None
    parts = [parse_records(files[name], name, len(label_names)) for name in ("train.bin", "test.bin")]
    images = np.concatenate([p[0] for p in parts])
    fine = np.concatenate([p[1] for p in parts])
    index = {name: i for i, name in enumerate(label_names)}

    result: dict[str, ImageSet | None] = {}
    owner: dict[str, str] = {}
    for split in SPLIT_NAMES:
        names = _split_names(split, getattr(config.splits, split), config.seed)
        if names is None:
            result[split] = None
            continue
        missing = [n for n in names if n not in index]
        if missing:
            raise DataError(
                f"data.splits.{split}: classes {missing} are not CIFAR-100 fine labels (fine_label_names.txt)"
            )
        for n in names:
            if n in owner:
                raise DataError(f"data.splits.{split}: class {n!r} is also in split {owner[n]!r}")
            owner[n] = split
        groups = [images[fine == index[n]] for n in names]
        empty = [n for n, g in zip(names, groups) if len(g) == 0]
        if empty:
            raise DataError(f"CIFAR-100 data at {config.path!r} has no images of classes {empty}")
        part = from_groups(groups, names)
        if config.image_size != 32:
            part = ImageSet(resize_images(part.images, config.image_size), part.labels, part.class_names)
        result[split] = part
    if result["base"] is None or result["novel"] is None:
        raise DataError("data.splits: base and novel must not be empty for cifar100")
    return Splits(base=result["base"], val=result["val"], novel=result["novel"])


@register_check("cifar100")
def check_cifar100(config: DataConfig) -> DataCheck:
    """The folder holds the three files, the .bin files whole numbers of records, and every split's
    class count fits its CIFAR-FS list; an archive is readable and a gzip or tar file."""
    path = str(config.path)
    if not storage.exists(path):
        raise DataError(f"data.path: CIFAR-100 location {path!r} not found")
    for split in SPLIT_NAMES:
        _split_names(split, getattr(config.splits, split), config.seed)
    if storage.is_dir(path):
        fs, root = storage.resolve(path)
        sizes = {}
        for name in FILES:
            info = fs.get_file_info(f"{root.rstrip('/')}/{name}")
            if not info.is_file:
                raise DataError(f"CIFAR-100 folder {path!r} has no {name} (expected {', '.join(FILES)})")
            sizes[name] = info.size
            read_head(storage.join(path, name), 1)
        for name in ("train.bin", "test.bin"):
            if sizes[name] == 0 or sizes[name] % RECORD_BYTES:
                raise DataError(
                    f"CIFAR-100 file {name}: {sizes[name]} bytes is not a whole number of {RECORD_BYTES}-byte records"
                )
        records = sum(sizes[n] // RECORD_BYTES for n in ("train.bin", "test.bin"))
        return DataCheck(
            [f"{path}: train.bin, test.bin ({records} records) and fine_label_names.txt readable"],
            ["labels and class names are read when evolve / evaluate load the data"],
        )
    head = read_head(path, 512)
    kind = "gzip" if head[:2] == GZIP_MAGIC else "tar" if head[257:262] == b"ustar" else None
    if kind is None:
        raise DataError(
            f"data.path: {path!r} is neither a folder nor a .tar.gz / .tar archive (cifar-100-binary.tar.gz or its "
            "extracted folder)"
        )
    return DataCheck(
        [f"{path}: a readable {kind} archive"],
        [
            "the archive's members (train.bin, test.bin, fine_label_names.txt) and records are read when evolve / "
            "evaluate load the data"
        ],
    )
