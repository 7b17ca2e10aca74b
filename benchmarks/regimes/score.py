"""One `Scoring` unit: its arm's descendants at one size, started as the unit's `Start` says, on
the unit's episodes (gtl_ray's `score_episodes`: every arm, size and seed meets the same episodes,
drawn from the episode seed and the table's stream), as per-episode rows in the unit's file."""

from __future__ import annotations

from dataclasses import replace

import torch

from benchmarks.regimes.prepare import evolved, grown, narrow_as_gene, pretrained, shape_of, size_named, splits_of
from benchmarks.regimes.units import Pretraining, Scoring
from gtl_ray.data.sampler import REPORT_STREAM, SELECTION_STREAM
from gtl_ray.evaluation.episode_file import EpisodeRow, read_episodes, write_episodes
from gtl_ray.evaluation.methods import Sources
from gtl_ray.evaluation.runner import score_episodes
from gtl_ray.recipe import gene_recipe

STREAMS = {"val": SELECTION_STREAM, "novel": REPORT_STREAM}  #: what is chosen vs what is reported


def sources_for(unit: Scoring) -> tuple[str, Sources]:
    """(gtl_ray method name, what it draws from) for the unit's start: nothing (`scratch`), a
    network's backbone (`full`: a size pre-trained on its own, the narrow one, or the narrow one
    grown into the size), or a gene implanted with the unit's rest (`learngene`; the gene-shaped
    size has no rest: the gene fills it)."""
    start, study, seed, size = unit.start, unit.study, unit.seed, size_named(unit.size)
    narrow = Pretraining(study, "gene", start.epochs, seed)
    if start.kind == "scratch":
        return "scratch", Sources()
    if start.kind == "network":
        if start.source == "grown":
            return "full", Sources(pretrained=grown(narrow, size))
        own = narrow if start.source == "narrow" else Pretraining(study, unit.size, start.epochs, seed)
        return "full", Sources(pretrained=pretrained(own))
    gene = evolved(start.evolution) if start.source == "evolved" else narrow_as_gene(narrow)
    rest = {} if size.gene_shaped else {"rest_init": unit.variant.rest_init, "rest_scale": unit.variant.rest_scale}
    return "learngene", Sources(learngene=gene, extra_layers="identity", **rest)


def score(unit: Scoring) -> list[EpisodeRow]:
    """The unit's rows, computed once (then read back from its file)."""
    if unit.path.exists():
        table = read_episodes(str(unit.path))
        return [EpisodeRow(**row) for row in table.to_pylist()]
    torch.set_num_threads(1)
    config = unit.study.config(
        unit.seed, f"evaluation.episodes={unit.episodes}", f"evaluation.shots={list(unit.shots)}", *unit.recipe
    )
    splits = splits_of(config)
    images = splits.val if unit.split == "val" else splits.novel
    method, sources = sources_for(unit)
    if sources.learngene is not None:  # evaluation.recipe=gene: the gene's own recipe
        sources.learngene_recipe = gene_recipe(config, sources.learngene.info, unit.arm)
    per_shot = score_episodes(
        config, images, [method], sources, stream=STREAMS[unit.split], shape=shape_of(config, size_named(unit.size))
    )
    rows = [
        EpisodeRow(
            dataset=unit.study.data,
            table=unit.table,
            split=unit.split,
            stream=STREAMS[unit.split],
            method=unit.arm,
            variant=unit.label,
            size=unit.size,
            seed=unit.seed,
            shots=shots,
            episode=index,
            accuracy=episode[method].accuracy,
            instinct=episode[method].instinct,
            sample_grads=episode[method].sample_grads,
            preparation_sample_grads=unit.preparation,
        )
        for shots, episodes in per_shot.items()
        for index, episode in enumerate(episodes)
    ]
    unit.path.parent.mkdir(parents=True, exist_ok=True)
    write_episodes(str(unit.path), rows)
    return rows


def as_seed(rows: list[EpisodeRow], seed: int) -> list[EpisodeRow]:
    """`rows` of a start that depends on no seed (scratch), filed under `seed` too."""
    return [replace(row, seed=seed) for row in rows]
