"""The sections of a run's config that judge and use the learngene: the descendants, the few-shot
evaluation and its baselines, the final choice, and `gtl-ray descend`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class DescendantConfig:
    """The network a learngene initializes for a new task (defaults: the ancestry network)."""

    arch: str | None = None  #: None: the ancestry network's
    width: float | None = None  #: None: the ancestry network's width
    depth: int | None = None  #: None: the architecture's default depth
    #: descendant unit -> learngene unit (`gtl-ray --layer-map unit=gene_unit,...`); None: inferred
    #: (same names, else by kernel size in forward order; see `gtl_ray.implant`)
    layer_map: dict[str, str] | None = None


@dataclass
class DistillConfig:
    """The `distilled` baseline: the gene-shaped narrow network trained on the base images to
    reproduce the pre-trained ancestry network's pooled features (He et al. CVPR 2022: linear
    projector, mean-squared error, no labels), SGD with a cosine-decayed lr."""

    epochs: int | None = None  #: passes over the base images; None: pretrain.epochs (the `narrow` baseline's budget)
    batch_size: int = 64
    lr: float = 0.05  #: student and projector alike
    momentum: float = 0.9
    weight_decay: float = 5e-4
    augment: bool = True  #: random crop + flip of the base images (teacher and student see the same)


@dataclass
class AFTConfig:
    """The `aft` baselines: Adaptive Feature Transfer (Qiu et al. 2024) adds to the fine-tuning
    loss a pull of the descendant's pooled features toward the frozen pre-trained network's."""

    #: weight of the regularizer beside the cross-entropy (0: plain fine-tuning); 3 was best of
    #: 0/1/2/3/5/10 on the quickstart's val classes (5-way 5-shot, 40 episodes; 5 level with it)
    beta: float = 3.0
    #: `kernel` (the published AFT): learned per-dimension weights on the teacher's features, batch
    #: kernels compared; `linear`: a learned map from the teacher's features to the student's
    projector: Literal["kernel", "linear"] = "kernel"
    lr: float = 0.01  #: learning rate of the projector's parameters (no weight decay)


@dataclass
class LrMultConfig:
    """Fine-tuning learning-rate multipliers per stage of the descendant: the backbone's conv
    units in forward order split in thirds (`early`, `middle`, `late`), and the classifier `head`
    (`gtl_ray.finetune.stage_of`)."""

    early: float = 1.0
    middle: float = 1.0
    late: float = 1.0
    head: float = 1.0


@dataclass
class EvaluationConfig:
    """Few-shot episodes on novel classes; also the protocol of `descendant` fitness and of the
    final selection on val classes."""

    n_way: int = 5
    shots: list = field(default_factory=lambda: [1, 5])  #: support images per class, one row each
    query: int = 15  #: query images per class
    episodes: int = 600
    methods: list = field(default_factory=lambda: ["scratch", "full", "heuristic", "learngene"])
    finetune: Literal["linear", "full"] = "full"  #: train all layers, or a linear head on frozen features
    steps: int = 50  #: optimizer steps on an episode's support set
    lr: float = 0.01
    weight_decay: float = 5e-4  #: of full fine-tuning (SGD)
    lr_mult: LrMultConfig = field(default_factory=LrMultConfig)  #: per-stage multipliers of `lr`
    #: the recipe the evolved gene's methods fine-tune with in `evaluate` and `descend`: the
    #: `config`'s (lr, lr_mult, steps, weight_decay) or the one the `gene` carries (its header's
    #: info.recipe, evolved with it under evolution.recipe); other methods use the config's
    recipe: Literal["config", "gene"] = "config"
    #: how the descendant's weights outside the gene's slots start (heuristic and learngene alike):
    #: torch's `default` init, `scaled` by `rest_scale`, or `zero_cross` (the blocks that feed
    #: gene channels from non-gene channels zeroed, so the gene's circuit is intact at birth)
    rest_init: Literal["default", "scaled", "zero_cross"] = "default"
    rest_scale: float = 0.1  #: `scaled`: factor applied to the weights outside the gene's slots
    #: the layers of a deeper descendant that no gene layer fills: torch's `default` init, or
    #: `identity` maps (Net2DeeperNet) so that the gene's circuit passes through them unchanged
    extra_layers: Literal["default", "identity"] = "default"
    #: seed of the evaluation episodes (tasks, fresh descendants, fine-tuning draws); null: the run
    #: seed. Fixed, it scores networks prepared from different seeds on the same episodes
    episode_seed: int | None = None
    descendant: DescendantConfig = field(default_factory=DescendantConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)  #: the `distilled` baseline's training
    aft: AFTConfig = field(default_factory=AFTConfig)  #: the `aft` baselines' regularizer


@dataclass
class FinalConfig:
    """Which gene becomes `final/learngene.safetensors`."""

    #: `last_generation`: the gene the fittest member of the last generation passes on;
    #: `val`: the best of the hall of fame and the last generation's top genes, re-scored on
    #: `val_episodes` episodes of the val classes (base classes when there is no val split)
    selection: Literal["last_generation", "val"] = "last_generation"
    val_episodes: int = 100
    #: `val`: score generation 0's gene (`evolution.init: pretrained | narrow`) beside the
    #: evolved candidates, so that the final gene is never one val judges worse than the start
    include_start: bool = True


@dataclass
class DescendConfig:
    """`gtl-ray descend`: train a descendant on a downstream data set with Ray Train."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.01
    train_per_class: int = 20  #: images per novel class to train on ("little data"); the rest test
    num_workers: int = 1
    use_gpu: bool = False
