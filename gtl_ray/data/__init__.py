"""Data layer: image sets, class splits, data sources, few-shot episodes and batch transforms.

Every source (`procedural`, `glyphs`, `cifar100`, `parquet`, `folder`) returns the same `Splits` of uint8
`ImageSet`s; consumers never see file formats.
"""

from gtl_ray.data import cifar, folder, glyphs, parquet  # noqa: F401  (register their sources)
from gtl_ray.data.imageset import ImageSet
from gtl_ray.data.procedural import generate_procedural
from gtl_ray.data.sampler import EpisodeSampler, Task, sample_task
from gtl_ray.data.splits import Splits, list_sources, load_splits
from gtl_ray.data.transforms import augment, normalize

__all__ = [
    "ImageSet",
    "Splits",
    "load_splits",
    "list_sources",
    "Task",
    "sample_task",
    "EpisodeSampler",
    "normalize",
    "augment",
    "generate_procedural",
]
