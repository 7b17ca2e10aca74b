"""Full transfer: every feature-extractor weight of a pre-trained network into a descendant of
the same shape (the `full` baseline, 100% of the backbone)."""
from __future__ import annotations

from gtl_ray.errors import LearngeneError
from gtl_ray.models import Network


def copy_backbone(source: Network, target: Network) -> None:
    """Copy `source.features` into `target.features`; every layer must have the same shape."""
    src = source.features.state_dict()
    dst = target.features.state_dict()
    for key, value in dst.items():
        if key not in src or src[key].shape != value.shape:
            got = tuple(src[key].shape) if key in src else "no such layer"
            raise LearngeneError(f"full transfer: layer {key!r} has shape {got} in the pre-trained network and {tuple(value.shape)} in the descendant")
    target.features.load_state_dict(src)
