"""Generation 0's gene under `evolution.init: pretrained | narrow`, so that evolution refines what
plain pre-training gives instead of re-learning it:
- `pretrained`: the slots of a network pre-trained on every base class (the `heuristic`
  baseline's gene);
- `narrow`: a network of exactly the gene's shape pre-trained alone on every base class (the
  `narrow` baseline's gene): with the rest of a descendant starting at 0 the descendant *is* the
  gene's circuit, and a small network trained whole is a better circuit than slots cut from a
  big one.
The pre-training is the same (same seed, settings and cache) as evaluation's, so the baseline and
generation 0 are the same gene. The gene's header says what it is (`provenance`: id `initial`, how
it was made) and how its network saw images, like every gene a member passes on: under
`final.selection: val` with `include_start` it can become the run's final learngene."""

from __future__ import annotations

from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet
from gtl_ray.evaluation.pretrain import narrow_gene, pretrain, pretrain_sample_grads
from gtl_ray.evolution.strategy import INITIAL
from gtl_ray.learngene import Learngene, extract_learngene, gene_info

MADE_BY = {
    "pretrained": "the gene's slots of the ancestry network pre-trained on every base class (the heuristic gene)",
    "narrow": "a network of exactly the gene's shape pre-trained alone on every base class (the narrow gene)",
}


def initial_gene(config: GTLConfig, base: ImageSet, cache_dir: str | None = None) -> tuple[Learngene | None, int]:
    """(generation 0's gene or None for random genes, sample-gradients its pre-training cost)."""
    init = config.evolution.init
    if init == "random":
        return None, 0
    info = gene_info(config, INITIAL, init=init, made_by=MADE_BY[init], pretrain_epochs=config.pretrain.epochs)
    if init == "narrow":
        gene = narrow_gene(config, base, config.learngene.share, cache_dir, **info)
    else:
        m = config.model
        model = pretrain(config, base, m.arch, m.width, m.depth, cache_dir)
        gene = extract_learngene(model, config.learngene.share, **info)
    return gene, pretrain_sample_grads(config, base)
