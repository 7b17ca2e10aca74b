"""N-way K-shot tasks: a member's lifetime environment and an evaluation episode.

Vocabulary of easyfsl / learn2learn (n_way, n_shot, n_query, episodes). Episode i is drawn from
its own stream numpy_rng(seed, stream, n_way, n_shot, n_query, i), so it is the same whichever
other episodes were drawn, on whichever worker, in whichever order.

Streams have names so that the episodes anything is *chosen* on (`SELECTION_STREAM`: the final
selection on val classes, hyper-parameter and rest choices, probes) are never the episodes a
table *reports* (`REPORT_STREAM`), even on the same classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from gtl_ray.data.imageset import ImageSet
from gtl_ray.errors import DataError
from gtl_ray.seeding import numpy_rng

REPORT_STREAM = "episode"  #: the episodes of reported tables (`evaluate`)
SELECTION_STREAM = "selection"  #: the episodes choices are made on (final.selection, val choices, probes)


@dataclass(frozen=True, eq=False)
class Task:
    """One N-way episode; images grouped by class, episode label j is class `classes[j]`.

    Args:
        support_x: uint8 (N*K, 3, S, S) training images of the task.
        support_y: int64 (N*K,) episode labels 0..N-1.
        query_x: uint8 (N*Q, 3, S, S) held-out images (fitness / accuracy).
        query_y: int64 (N*Q,) episode labels 0..N-1.
        classes: the N class ids in the source ImageSet, in episode-label order.
        images: the indices in the source ImageSet of the support images, then the query images.
    """

    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor
    classes: tuple[int, ...]
    images: tuple[int, ...] = ()

    @property
    def n_way(self) -> int:
        return len(self.classes)


def _check_request(images: ImageSet, n_way: int, n_shot: int, n_query: int) -> None:
    if n_way < 1 or n_shot < 1 or n_query < 0:
        raise DataError(
            f"episode needs n_way >= 1, n_shot >= 1, n_query >= 0; got n_way={n_way}, n_shot={n_shot}, "
            f"n_query={n_query}"
        )
    if images.num_classes < n_way:
        raise DataError(f"{n_way}-way episodes need {n_way} classes but the image set has {images.num_classes}")


def _too_small(images: ImageSet, class_id: int, n_shot: int, n_query: int) -> DataError:
    have = len(images.indices_by_class()[class_id])
    return DataError(
        f"class {images.class_names[class_id]!r} (id {class_id}) has {have} images but "
        f"n_shot + n_query = {n_shot} + {n_query} = {n_shot + n_query} are needed"
    )


def sample_task(images: ImageSet, n_way: int, n_shot: int, n_query: int, rng: np.random.Generator) -> Task:
    """Draw n_way distinct classes, then n_shot support and n_query query images per class.

    Support and query images are distinct; the task's tensors are on the images' device. Raises
    DataError when the set has fewer than n_way classes or a drawn class has fewer than n_shot +
    n_query images.
    """
    _check_request(images, n_way, n_shot, n_query)
    groups = images.indices_by_class()
    classes = rng.choice(images.num_classes, size=n_way, replace=False)
    need = n_shot + n_query
    support, query = [], []
    for cid in classes:
        members = groups[cid]
        if len(members) < need:
            raise _too_small(images, int(cid), n_shot, n_query)
        picked = members[rng.choice(len(members), size=need, replace=False)]
        support.append(picked[:n_shot])
        query.append(picked[n_shot:])
    device = images.images.device  # the episode is gathered where the images live
    support_idx = torch.from_numpy(np.concatenate(support)).to(device)
    query_idx = torch.from_numpy(np.concatenate(query)).to(device)
    return Task(
        support_x=images.images[support_idx],
        support_y=torch.arange(n_way, device=device).repeat_interleave(n_shot),
        query_x=images.images[query_idx],
        query_y=torch.arange(n_way, device=device).repeat_interleave(n_query),
        classes=tuple(int(c) for c in classes),
        images=tuple(int(i) for i in np.concatenate(support + query)),
    )


class EpisodeSampler:
    """A fixed, indexable sequence of `episodes` tasks over `images`.

    Args:
        images: the classes to draw from (e.g. `Splits.novel` for evaluation).
        n_way: classes per episode.
        n_shot: support images per class.
        n_query: query images per class.
        episodes: number of tasks (len of the sampler).
        seed: the episodes' seed; episode i uses numpy_rng(seed, stream, n_way, n_shot, n_query, i).
        stream: the stream's name (`REPORT_STREAM`, `SELECTION_STREAM`).

    Fails in __init__ when the request can never be met: fewer than n_way classes, or any class
    with fewer than n_shot + n_query images (names the smallest class).
    """

    def __init__(
        self,
        images: ImageSet,
        n_way: int,
        n_shot: int,
        n_query: int,
        episodes: int,
        seed: int,
        stream: str = REPORT_STREAM,
    ) -> None:
        _check_request(images, n_way, n_shot, n_query)
        if episodes < 0:
            raise DataError(f"episodes must be >= 0, got {episodes}")
        sizes = [len(g) for g in images.indices_by_class()]
        smallest = int(np.argmin(sizes))
        if sizes[smallest] < n_shot + n_query:
            raise _too_small(images, smallest, n_shot, n_query)
        self.images = images
        self.n_way, self.n_shot, self.n_query = n_way, n_shot, n_query
        self.episodes = episodes
        self.seed, self.stream = seed, stream

    def __len__(self) -> int:
        return self.episodes

    def __getitem__(self, i: int) -> Task:
        if not -self.episodes <= i < self.episodes:
            raise IndexError(f"episode {i} out of range for {self.episodes} episodes")
        i %= self.episodes
        rng = numpy_rng(self.seed, self.stream, self.n_way, self.n_shot, self.n_query, i)
        return sample_task(self.images, self.n_way, self.n_shot, self.n_query, rng)

    def __iter__(self) -> Iterator[Task]:
        for i in range(self.episodes):
            yield self[i]
