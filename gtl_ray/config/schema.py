"""The whole config of a run (`GTLConfig`): its sections, and the descendant shape it implies."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from gtl_ray.config.evaluation_sections import DescendantConfig, DescendConfig, EvaluationConfig, FinalConfig
from gtl_ray.config.run_sections import (
    DataConfig,
    EvolutionConfig,
    LearngeneConfig,
    LifetimeConfig,
    ModelConfig,
    PopulationConfig,
    PretrainConfig,
)


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

    def model_shape(self, d: DescendantConfig) -> "DescendantShape":
        """A descendant's shape: `d`'s keys, falling back to the ancestry network's (its depth
        only for the same architecture)."""
        m = self.model
        depth = d.depth if d.depth is not None else (m.depth if d.arch in (None, m.arch) else None)
        return DescendantShape(d.arch or m.arch, d.width if d.width is not None else m.width, depth)

    def fitness_shapes(self) -> list["DescendantShape"]:
        """The descendant shapes of fitness episodes: evolution.fitness_sizes, else the one of
        evaluation.descendant (entries are checked by the pre-flight: `preflight.sizes`)."""
        sizes = self.evolution.fitness_sizes
        return [self.model_shape(d) for d in sizes] if sizes else [self.descendant_shape()]


@dataclass(frozen=True)
class DescendantShape:
    arch: str
    width: float
    depth: int | None
    rho: float | None = None  #: every layer cut to its gene block at this channel fraction: the gene's own network
