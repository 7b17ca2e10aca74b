"""The sections of a run's config that shape its evolution: the ancestry network, the learngene,
the population's resources, the evolution, a member's lifetime, the data and pre-training."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

from gtl_ray.config.evaluation_sections import DescendantConfig

SplitSpec = Union[int, str, list]


@dataclass
class ModelConfig:
    """The ancestry network whose learngene is evolved."""

    arch: str = "vgg11"  #: registered architecture name (see `gtl_ray.list_models()`)
    width: float = 1.0  #: channel multiplier of every layer
    depth: int | None = None  #: architecture-specific depth (VGG: 11/13/16/19; ResNet12: blocks per stage)


@dataclass
class LearngeneConfig:
    share: float = 0.20  #: target fraction (0, 1) of the backbone's parameters held by the learngene


@dataclass
class PopulationConfig:
    size: int = 8  #: members per generation (P)
    gpus_per_member: float = 0.0  #: GPUs each member actor holds (fractions allowed)
    cpus_per_member: float = 1.0  #: CPUs each member actor holds; also its torch thread count
    max_failures: int = 3  #: times a failed member (dead actor, lost node) is restarted
    resource_timeout_s: float = (
        600.0  #: how long a member may wait for room on the cluster (start-up, lost node) before the run stops
    )
    #: forward passes' autocast dtype, for lifetimes, fitness, the final selection, evaluation and
    #: pre-training alike (weights stay fp32; fp16: CUDA only, with grad scaling)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    channels_last: bool = False  #: convolutions in NHWC memory layout (tensor cores prefer it)
    compile: bool = False  #: train through torch.compile (compiled once per member process)
    #: a member copies its base images (uint8) to its device once; false: batches go from host memory each step
    data_on_device: bool = True
    #: K members in one member actor (Tune trial) holding K members' resources; divides
    #: population.size; `auto`: as many as make one GPU (with a GPU share) or one CPU (`gtl_ray.packing`)
    members_per_actor: int | Literal["auto"] = 1
    #: how a pack's members live: `sequential` (one after another), `vectorized` (as one batched
    #: computation, same results to float tolerance), `auto` (the device's faster: `gtl_ray.packing`)
    pack: Literal["auto", "sequential", "vectorized"] = "auto"


@dataclass
class EvolutionConfig:
    generations: int = 10  #: number of generations (G)
    tournament_size: int = 3  #: members drawn per tournament (t)
    elites: int = 1  #: top learngenes passed on unchanged (e)
    mutation_rate: float = 0.1  #: probability per output channel of being mutated (p)
    mutation_sigma: float = 0.1  #: Gaussian noise scale, as a fraction of the tensor's std
    mutation_operator: str = "gaussian"  #: registered mutation operator (`gaussian` | `redraw`)
    #: what a parent passes on: its trained gene (`lamarckian`), the gene it inherited with its
    #: slots frozen in its lifetime (`darwinian`), or its inherited gene moved `step_size` of the
    #: way toward the mean learning step of the `top_k` fittest members (`reptile`)
    inheritance: Literal["lamarckian", "darwinian", "reptile"] = "lamarckian"
    step_size: float = 0.5  #: reptile: fraction (0, 1] of the mean learning step taken
    top_k: int = 2  #: reptile: fittest members whose learning steps are averaged
    #: how a member is scored: `lifetime` (query accuracy of the carrier after its lifetime),
    #: `descendant` (its trained gene in fresh networks, fine-tuned with the evaluation protocol
    #: on `fitness_episodes` base-class episodes), `instinct` (nearest-centroid accuracy of the
    #: gene in fresh networks on the same episodes, no training)
    fitness: Literal["lifetime", "descendant", "instinct"] = "lifetime"
    fitness_episodes: int = 2  #: descendant / instinct: episodes per member, the same for all members of a generation
    fitness_shots: int = 5  #: descendant / instinct: support images per class of a fitness episode
    #: descendant / instinct: descendant shapes ({arch, width, depth}, each key optional as in
    #: evaluation.descendant) that fitness episodes draw from, one per episode from a seeded stream
    #: of (generation, episode): every member of a generation meets the same sizes. []: evaluation.descendant
    fitness_sizes: list[DescendantConfig] = field(default_factory=list)
    #: generation 0's genes: random, the pre-trained network's slots, or the gene-shaped network
    #: pre-trained alone
    init: Literal["random", "pretrained", "narrow"] = "random"
    hall_of_fame: int = 4  #: best genes kept across generations (candidates for the final gene)
    #: the fine-tuning recipe (and lifetime lr) that evolves with the gene, as a search space
    #: {key: [low, high]} over `gtl_ray.recipe.RECIPE_KEYS`; keys left out keep the config's value;
    #: empty: no recipe evolves (every member uses the config's values)
    recipe: dict = field(default_factory=dict)
    recipe_resample: float = 0.25  #: probability per recipe value that a child redraws it from the space


@dataclass
class LifetimeConfig:
    """One member's lifetime: an N-way environment over base classes, trained with SGD."""

    n_way: int = 5  #: classes per environment
    train_per_class: int = 20  #: training images per class in an environment
    query_per_class: int = 15  #: held-out query images per class (fitness)
    epochs: int = 5  #: passes over the environment's training images
    batch_size: int = 25
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    augment: bool = True  #: random crop + horizontal flip during training
    environments: int = 1  #: environments learned one after another in a lifetime (fresh head each)
    shared_environment: bool = False  #: every member of a generation meets the same environment(s)


@dataclass
class SplitsConfig:
    """Class split. An int is a class count (seeded split), a str a path (Parquet / folder), a
    list the class names; `base` feeds evolution and pre-training, `novel` only evaluation;
    `val` is optional (null or 0: no val split)."""

    base: SplitSpec = 64
    val: SplitSpec | None = 16
    novel: SplitSpec = 20


@dataclass
class DataConfig:
    format: Literal["procedural", "glyphs", "cifar100", "parquet", "folder"] = "procedural"
    path: str | None = None  #: data location (file, folder or pyarrow.fs URI); unused for procedural
    image_size: int = 32  #: side in pixels images are resized to
    splits: SplitsConfig = field(default_factory=SplitsConfig)
    image_column: str = "image"  #: Parquet column with encoded image bytes (or struct with `bytes`)
    label_column: str = "label"  #: Parquet column with int or str labels
    seed: int = 0  #: seed of the procedural generator and of count-based class splits (not the run seed)
    num_classes: int = 200  #: procedural only: classes generated
    images_per_class: int = 60  #: procedural only: images generated per class


@dataclass
class PretrainConfig:
    """Ordinary supervised pre-training on all base classes (the `full` and `heuristic` baselines)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
