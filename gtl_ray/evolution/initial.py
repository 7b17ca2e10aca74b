"""Generation 0's gene under `evolution.init: pretrained`: the pre-trained network's slots (the
`heuristic` baseline's gene), so that evolution refines what plain pre-training gives instead of
re-learning it. The pre-training is the same (same seed, settings and cache) as evaluation's."""
from __future__ import annotations

from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet
from gtl_ray.evaluation.pretrain import pretrain, pretrain_sample_grads
from gtl_ray.learngene import Learngene, extract_learngene


def initial_gene(config: GTLConfig, base: ImageSet, cache_dir: str | None = None) -> tuple[Learngene | None, int]:
    """(generation 0's gene or None for random genes, sample-gradients its pre-training cost)."""
    if config.evolution.init == "random":
        return None, 0
    m = config.model
    model = pretrain(config, base, m.arch, m.width, m.depth, cache_dir)
    return extract_learngene(model, config.learngene.share, origin="pretrained"), pretrain_sample_grads(config, base)
