"""What a learngene file records about where it came from, in its header's `info` object.

- `preprocessing`: the input the source network learned on (image size, channel order, scaling,
  per-channel mean/std), so that a user feeding a descendant knows how to prepare images.
- `provenance`: the run and the gene's id in it (the member that passed it on, `g0001m0002`, with
  its generation and member; or `initial`, generation 0's gene, with how it was made), and a
  digest of the run's config (equal digests: same settings);
- `recipe`: the fine-tuning recipe evolved with the gene (`gtl_ray.recipe`), when the run
  evolved one (`evolution.recipe`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gtl_ray.config import GTLConfig
from gtl_ray.data.transforms import MEAN, STD


def preprocessing(image_size: int) -> dict[str, Any]:
    """How gtl_ray feeds images to a network (`gtl_ray.data.transforms.normalize`)."""
    return {
        "image_size": int(image_size),
        "channels": "RGB",
        "scale": "uint8 / 255, then (x - mean) / std per channel",
        "mean": [MEAN] * 3,
        "std": [STD] * 3,
    }


def config_digest(config: GTLConfig) -> str:
    """sha256 of the config's canonical JSON."""
    text = json.dumps(config.to_dict(), sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def gene_info(config: GTLConfig, gene_id: str, recipe: dict[str, Any] | None = None, **origin: Any) -> dict[str, Any]:
    """`info` of the gene `gene_id` of the run `config` describes: a member id (`origin`:
    generation=, member=) or `initial` (`origin`: how it was made), with the `recipe`
    (`Recipe.to_json`) it passes on, if any."""
    info = {
        "preprocessing": preprocessing(config.data.image_size),
        "provenance": {"run": config.name, "id": gene_id, **origin, "config_digest": config_digest(config)},
    }
    return info if recipe is None else {**info, "recipe": dict(recipe)}
