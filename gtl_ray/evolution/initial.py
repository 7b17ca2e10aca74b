"""Generation 0's gene under `evolution.init: pretrained | narrow`, so that evolution refines what
plain pre-training gives instead of re-learning it:
- `pretrained`: the slots of a network pre-trained on every base class (the `heuristic`
  baseline's gene);
- `narrow`: a network of exactly the gene's shape pre-trained alone on every base class (the
  `narrow` baseline's gene): with the rest of a descendant starting at 0 the descendant *is* the
  gene's circuit, and a small network trained whole is a better circuit than slots cut from a
  big one.
The pre-training is the same (same seed, settings and cache) as evaluation's, so the baseline and
generation 0 are the same gene."""

from __future__ import annotations

from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet
from gtl_ray.evaluation.pretrain import narrow_gene, pretrain, pretrain_sample_grads
from gtl_ray.learngene import Learngene, extract_learngene


def initial_gene(config: GTLConfig, base: ImageSet, cache_dir: str | None = None) -> tuple[Learngene | None, int]:
    """(generation 0's gene or None for random genes, sample-gradients its pre-training cost)."""
    if config.evolution.init == "random":
        return None, 0
    if config.evolution.init == "narrow":
        return narrow_gene(config, base, config.learngene.share, cache_dir, origin="narrow"), pretrain_sample_grads(
            config, base
        )
    m = config.model
    model = pretrain(config, base, m.arch, m.width, m.depth, cache_dir)
    return extract_learngene(model, config.learngene.share, origin="pretrained"), pretrain_sample_grads(config, base)
