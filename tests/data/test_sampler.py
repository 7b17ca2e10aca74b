"""Episodes, ImageSet helpers and batch transforms (gtl_ray.data.sampler / imageset / transforms)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gtl_ray.data import EpisodeSampler, ImageSet, augment, normalize, sample_task
from gtl_ray.errors import DataError
from gtl_ray.seeding import numpy_rng
from gtl_ray.torch_streams import torch_generator


def make_set(per_class: list[int], size: int = 4) -> ImageSet:
    """Image j is filled with the value j, so an image's identity can be read back from its pixels."""
    labels = np.repeat(np.arange(len(per_class)), per_class)
    count = len(labels)
    assert count <= 256
    images = torch.arange(count, dtype=torch.uint8)[:, None, None, None].expand(count, 3, size, size).clone()
    return ImageSet(images, torch.from_numpy(labels), tuple(f"c{c}" for c in range(len(per_class))))


def ids(x: torch.Tensor) -> list[int]:
    return x[:, 0, 0, 0].tolist()


def test_sample_task_shapes_labels_and_disjointness():
    images = make_set([10] * 8)
    task = sample_task(images, n_way=5, n_shot=3, n_query=4, rng=np.random.default_rng(0))
    assert task.support_x.shape == (15, 3, 4, 4) and task.query_x.shape == (20, 3, 4, 4)
    assert task.support_x.dtype == torch.uint8 and task.support_y.dtype == torch.int64
    assert task.support_y.tolist() == [j for j in range(5) for _ in range(3)]
    assert task.query_y.tolist() == [j for j in range(5) for _ in range(4)]
    assert len(set(task.classes)) == 5 and all(0 <= c < 8 for c in task.classes)
    support, query = ids(task.support_x), ids(task.query_x)
    assert len(set(support)) == 15 and len(set(query)) == 20 and not set(support) & set(query)
    for x, y in ((task.support_x, task.support_y), (task.query_x, task.query_y)):
        for image_id, episode_label in zip(ids(x), y.tolist()):
            assert images.labels[image_id].item() == task.classes[episode_label]


def test_sampler_is_deterministic_and_order_independent():
    images = make_set([12] * 10)
    a = EpisodeSampler(images, 5, 2, 3, episodes=6, seed=7)
    b = EpisodeSampler(images, 5, 2, 3, episodes=6, seed=7)
    c = EpisodeSampler(images, 5, 2, 3, episodes=6, seed=8)
    assert len(a) == 6
    listed = list(a)
    for i in reversed(range(6)):
        assert torch.equal(b[i].support_x, listed[i].support_x) and torch.equal(b[i].query_x, listed[i].query_x)
        assert b[i].classes == listed[i].classes
    assert torch.equal(a[-1].query_x, listed[5].query_x)
    assert any(not torch.equal(a[i].support_x, c[i].support_x) for i in range(6))
    assert any(not torch.equal(listed[0].support_x, t.support_x) for t in listed[1:])
    expected = sample_task(images, 5, 2, 3, numpy_rng(7, "episode", 5, 2, 3, 4))
    assert torch.equal(a[4].support_x, expected.support_x)
    with pytest.raises(IndexError):
        a[6]


def test_too_few_classes():
    images = make_set([10] * 3)
    with pytest.raises(DataError, match=r"5-way episodes need 5 classes but the image set has 3"):
        sample_task(images, 5, 1, 1, np.random.default_rng(0))
    with pytest.raises(DataError, match=r"has 3"):
        EpisodeSampler(images, 5, 1, 1, episodes=2, seed=0)


def test_too_few_images_names_the_class():
    images = make_set([10, 10, 4, 10])
    with pytest.raises(DataError, match=r"class 'c2' \(id 2\) has 4 images but n_shot \+ n_query = 3 \+ 2 = 5"):
        EpisodeSampler(images, 2, 3, 2, episodes=2, seed=0)
    with pytest.raises(DataError, match=r"'c2'.*has 4 images"):
        sample_task(images, 4, 3, 2, np.random.default_rng(0))  # 4-way draws every class


def test_imageset_helpers_and_round_trip():
    images = make_set([3, 1, 2])
    assert images.num_classes == 3 and len(images) == 6
    assert [g.tolist() for g in images.indices_by_class()] == [[0, 1, 2], [3], [4, 5]]
    sub = images.subset_classes([2, 0])
    assert sub.class_names == ("c2", "c0") and sub.labels.tolist() == [0, 0, 1, 1, 1]
    assert ids(sub.images) == [4, 5, 0, 1, 2]
    arrays = images.to_arrays()
    assert set(arrays) == {"images", "labels", "class_names"} and isinstance(arrays["images"], np.ndarray)
    for value in arrays.values():
        value.setflags(write=False)  # as from the Ray object store
    back = ImageSet.from_arrays(arrays)
    assert torch.equal(back.images, images.images) and torch.equal(back.labels, images.labels)
    assert back.class_names == images.class_names
    with pytest.raises(DataError, match="out of range"):
        images.subset_classes([3])


def test_imageset_validates():
    with pytest.raises(DataError, match="uint8"):
        ImageSet(torch.zeros(2, 3, 4, 4), torch.zeros(2, dtype=torch.int64), ("a",))
    with pytest.raises(DataError, match="out of range"):
        ImageSet(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.tensor([0, 1]), ("a",))


def test_normalize():
    x = torch.tensor([0, 255, 128], dtype=torch.uint8).view(1, 3, 1, 1)
    y = normalize(x)
    assert y.dtype == torch.float32
    assert torch.allclose(y.flatten(), torch.tensor([-2.0, 2.0, (128 / 255 - 0.5) / 0.25]), atol=1e-6)
    with pytest.raises(TypeError):
        normalize(y)


def test_augment_is_a_reproducible_crop_or_flip_of_each_image():
    x = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    out = augment(x, torch_generator(0, "aug"))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(out, augment(x, torch_generator(0, "aug")))
    assert not torch.equal(out, augment(x, torch_generator(1, "aug")))
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")  # pad = S // 8 = 1
    for b in range(6):
        candidates = [padded[b, :, r : r + 8, c : c + 8] for r in range(3) for c in range(3)]
        candidates += [t.flip(-1) for t in candidates]
        assert any(torch.equal(out[b], t) for t in candidates)


def test_augment_flips_about_half():
    x = torch.arange(4.0).view(1, 1, 1, 4).expand(400, 3, 4, 4).contiguous()  # S // 8 = 0: flips only
    out = augment(x, torch_generator(3, "aug"))
    flipped = (out[:, 0, 0, 0] == 3).float().mean().item()
    assert 0.4 < flipped < 0.6
    assert torch.equal(out[out[:, 0, 0, 0] == 0], x[: int((out[:, 0, 0, 0] == 0).sum())])


def test_selection_and_report_streams_never_share_an_episode():
    """What is chosen on val (SELECTION_STREAM) and what a table reports (REPORT_STREAM) are
    different episodes even on the same classes with the same seed: over 3000 episodes of each,
    no episode of one has the classes and image indices of an episode of the other."""
    from gtl_ray.data.sampler import REPORT_STREAM, SELECTION_STREAM

    labels = np.repeat(np.arange(16), 60)  # a val split: 16 classes x 60 images
    images = ImageSet(
        torch.zeros(len(labels), 3, 2, 2, dtype=torch.uint8), torch.from_numpy(labels), tuple("abcdefghijklmnop")
    )

    def episodes(stream: str) -> set[tuple]:
        sampler = EpisodeSampler(images, 5, 5, 15, episodes=3000, seed=0, stream=stream)
        return {(frozenset(t.classes), frozenset(t.images)) for t in sampler}

    report, selection = episodes(REPORT_STREAM), episodes(SELECTION_STREAM)
    assert len(report) == len(selection) == 3000  # no repeats within a stream either
    assert not report & selection
    task = EpisodeSampler(images, 5, 5, 15, episodes=1, seed=0)[0]
    assert len(task.images) == 100 and all(labels[i] == task.classes[p // 5] for p, i in enumerate(task.images[:25]))
    assert EpisodeSampler(images, 5, 5, 15, 1, seed=0)[0].images == task.images  # the report stream is the default
