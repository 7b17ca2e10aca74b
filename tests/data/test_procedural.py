"""The procedural data set (gtl_ray.data.procedural) and its count-based class split."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gtl_ray.config import DataConfig, SplitsConfig
from gtl_ray.data import generate_procedural, load_splits
from gtl_ray.data.procedural import class_definitions
from gtl_ray.errors import DataError
from gtl_ray.seeding import numpy_rng


def test_same_seed_same_bytes_other_seed_other_bytes():
    a = generate_procedural(6, 3, 32, seed=5)
    b = generate_procedural(6, 3, 32, seed=5)
    c = generate_procedural(6, 3, 32, seed=6)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)


@pytest.mark.parametrize("size", [32, 84])
def test_shape_dtype_labels(size):
    data = generate_procedural(5, 4, size, seed=0)
    assert data.images.shape == (20, 3, size, size) and data.images.dtype == torch.uint8
    assert data.labels.dtype == torch.int64 and data.labels.tolist() == [c for c in range(5) for _ in range(4)]
    assert data.class_names == ("proc_000", "proc_001", "proc_002", "proc_003", "proc_004")
    assert data.images.float().std() > 20  # not blank


def test_instances_do_not_depend_on_how_many_were_generated():
    small = generate_procedural(4, 2, 32, seed=1)
    large = generate_procedural(7, 5, 32, seed=1)
    for c in range(4):
        assert torch.equal(small.images[small.labels == c], large.images[large.labels == c][:2])


def test_classes_are_distinct_combinations_of_shared_primitives():
    defs = class_definitions(200, seed=0)
    assert len({tuple(row) for row in defs}) == 200
    for column in range(3):  # every shape / texture / fill colour is shared by several classes
        assert np.bincount(defs[:, column]).max() > 1
    assert np.all(defs[:, 2] != defs[:, 3])
    with pytest.raises(DataError, match="data.num_classes"):
        class_definitions(10**6, seed=0)


def test_different_classes_look_different():
    data = generate_procedural(8, 12, 32, seed=0)
    means = torch.stack([data.images[data.labels == c].float().mean(0) for c in range(8)])
    dist = torch.cdist(means.flatten(1), means.flatten(1))
    assert dist[~torch.eye(8, dtype=torch.bool)].min() > 1.0
    within = data.images[data.labels == 0].float()
    assert (within[0] - within[1]).abs().mean() > 5  # instances vary too


def test_default_split_counts_and_seeded_order():
    config = DataConfig(images_per_class=2)
    splits = load_splits(config)
    assert (splits.base.num_classes, splits.val.num_classes, splits.novel.num_classes) == (64, 16, 20)
    names = splits.base.class_names + splits.val.class_names + splits.novel.class_names
    assert len(set(names)) == 100
    order = numpy_rng(0, "split").permutation(200)
    assert names == tuple(f"proc_{c:03d}" for c in order[:100])
    assert len(splits.base) == 128 and splits.base.images.shape[1:] == (3, 32, 32)


def test_val_zero_means_no_val_split_and_too_many_classes_fail():
    config = DataConfig(num_classes=12, images_per_class=2, splits=SplitsConfig(base=6, val=0, novel=6))
    splits = load_splits(config)
    assert splits.val is None and splits.base.num_classes == 6
    with pytest.raises(DataError, match=r"base=8, val=2, novel=6 need 16 classes but procedural data has only 12"):
        load_splits(DataConfig(num_classes=12, images_per_class=2, splits=SplitsConfig(base=8, val=2, novel=6)))


def test_bad_arguments():
    with pytest.raises(DataError, match="images_per_class"):
        generate_procedural(3, 0, 32, seed=0)
    with pytest.raises(DataError, match="image_size"):
        generate_procedural(3, 2, 4, seed=0)
