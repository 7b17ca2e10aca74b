"""One typed config for a run: the schema, and reading it from YAML.

Every section is a dataclass; `read_config` maps a YAML mapping (plus `--set key=value`
overrides) onto them, checking keys and types. Value ranges are checked by
`config_checks.validate`, and `config_checks.load_config` does both: that is what callers use.
This module imports nothing else of gtl_ray but its errors, so every module can import the
schema without an import cycle. Nothing else in gtl_ray reads YAML.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from gtl_ray.errors import ConfigError, quote
from gtl_ray.yaml_loader import parse as parse_yaml
from gtl_ray.yaml_loader import read_mapping

SplitSpec = Union[int, str, list]
MAX_INT = 2**63  #: integers and numbers in a config stay below this in magnitude
MAX_STRING = 4096  #: characters in a string value (paths, names)
MAX_WIDTH = 16.0  #: channel multiplier: x16 of VGG11 is already ~2.4e9 parameters


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
    data_on_device: bool = True  #: a member copies its base images (uint8) to its device once; false: batches go from host memory each step
    members_per_actor: int = 1  #: K members lived one after another by one member actor (Tune trial) holding K members' resources; divides population.size


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
    fitness_sizes: list = field(default_factory=list)
    init: Literal["random", "pretrained", "narrow"] = (
        "random"  #: generation 0's genes: random, the pre-trained network's slots, or the gene-shaped network pre-trained alone
    )
    hall_of_fame: int = 4  #: best genes kept across generations (candidates for the final gene)


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


@dataclass
class DescendantConfig:
    """The network a learngene initializes for a new task (defaults: the ancestry network)."""

    arch: str | None = None  #: None: the ancestry network's
    width: float | None = None  #: None: the ancestry network's width
    depth: int | None = None  #: None: the architecture's default depth


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


@dataclass
class GTLConfig:
    name: str = "gtl"
    seed: int = 0
    storage: str = "./runs"  #: local folder or pyarrow.fs URI (s3://, gs://) holding runs
    model: ModelConfig = field(default_factory=ModelConfig)
    learngene: LearngeneConfig = field(default_factory=LearngeneConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    lifetime: LifetimeConfig = field(default_factory=LifetimeConfig)
    data: DataConfig = field(default_factory=DataConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    descend: DescendConfig = field(default_factory=DescendConfig)
    final: FinalConfig = field(default_factory=FinalConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def descendant_shape(self) -> "DescendantShape":
        """The network evaluation (and descendant fitness) initializes: evaluation.descendant,
        falling back to the ancestry network's shape."""
        return self.model_shape(self.evaluation.descendant)

    def model_shape(self, d: "DescendantConfig") -> "DescendantShape":
        """A descendant's shape: `d`'s keys, falling back to the ancestry network's (its depth
        only for the same architecture)."""
        m = self.model
        depth = d.depth if d.depth is not None else (m.depth if d.arch in (None, m.arch) else None)
        return DescendantShape(d.arch or m.arch, d.width if d.width is not None else m.width, depth)

    def fitness_shapes(self) -> list["DescendantShape"]:
        """The descendant shapes of fitness episodes: evolution.fitness_sizes, else the one of
        evaluation.descendant (entries are checked by `config_checks.validate`)."""
        sizes = self.evolution.fitness_sizes
        if not sizes:
            return [self.descendant_shape()]
        return [self.model_shape(_build(DescendantConfig, raw, "evolution.fitness_sizes.")) for raw in sizes]


@dataclass(frozen=True)
class DescendantShape:
    arch: str
    width: float
    depth: int | None
    rho: float | None = None  #: every layer cut to its gene block at this channel fraction: the gene's own network


# ---------------------------------------------------------------- reading and overrides


def read_config(path: str | Path | None = None, overrides: list[str] | None = None) -> GTLConfig:
    """Read a YAML config (or the defaults when `path` is None) and apply `key=value` overrides,
    checking keys and types (ranges: `config_checks.validate`). Raises ConfigError naming the
    file, key or value at fault."""
    raw: dict[str, Any] = {} if path is None else read_mapping(path)
    for item in overrides or []:
        apply_override(raw, item)
    return from_dict(raw)


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one `dotted.key=value` override (value parsed as YAML) to a raw config mapping."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects key=value, got {quote(item)}")
    value = parse_yaml(text, f"--set {key[:100]}: value {quote(text)}")
    parts = key.strip().split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[: i + 1])} is not a section")
        node = child
    node[parts[-1]] = value


def from_dict(raw: dict[str, Any]) -> GTLConfig:
    """Map a raw mapping onto GTLConfig, checking keys and types (not value ranges)."""
    return _build(GTLConfig, raw, "")


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {quote(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(k if isinstance(k, str) and len(k) <= 60 else quote(k, 60) for k in raw if k not in fields)
    if unknown:
        raise ConfigError(
            f"unknown key {prefix}{unknown[0]}; allowed under {prefix.rstrip('.') or 'top level'}: "
            + ", ".join(sorted(fields))
        )
    values = {}
    for name, value in raw.items():
        values[name] = _coerce(hints[name], value, f"{prefix}{name}")
    return cls(**values)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key + ".")
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if not isinstance(value, (str, int, float, bool, type(None))) or value not in allowed:
            raise ConfigError(f"{key}: {quote(value)} is not allowed; choose one of {', '.join(map(str, allowed))}")
        return value
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, key)
            except ConfigError:
                pass
        names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
        raise ConfigError(f"{key}: expected {names}, got {quote(value)}")
    if hint is list or origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {quote(value)}")
        return list(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {quote(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {quote(value)}")
        if abs(value) >= MAX_INT:
            raise ConfigError(f"{key}: {quote(value, 40)} is out of range (|value| < 2**63)")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {quote(value)}")
        if not math.isfinite(value) or abs(value) >= MAX_INT:
            raise ConfigError(f"{key}: expected a finite number, got {quote(value, 40)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {quote(value)}")
        if len(value) > MAX_STRING or "\x00" in value:
            raise ConfigError(
                f"{key}: expected a string of at most {MAX_STRING} characters without NUL, got {quote(value)}"
            )
        return value
    raise ConfigError(f"{key}: unsupported value {quote(value)}")


def describe_differences(a: GTLConfig, b: GTLConfig, ignore: tuple[str, ...] = ()) -> list[str]:
    """Dotted keys whose values differ between two configs (for refusing mismatched resumes)."""
    flat_a, flat_b = _flatten(a.to_dict()), _flatten(b.to_dict())
    keys = sorted(set(flat_a) | set(flat_b))
    return [k for k in keys if flat_a.get(k) != flat_b.get(k) and not k.startswith(ignore)]


def _flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
