"""One typed config for a run: every section is a dataclass (`run_sections`,
`evaluation_sections`, the whole in `schema`), read from YAML by `reading` with every key and type
checked. Value ranges are checked by the pre-flight (`gtl_ray.preflight.load_config` reads and
checks: that is what callers use). This package imports nothing else of gtl_ray but its errors
and the YAML reader, so every module can import the schema without an import cycle.
"""

from gtl_ray.config.evaluation_sections import (
    AFTConfig,
    DescendantConfig,
    DescendConfig,
    DistillConfig,
    EvaluationConfig,
    FinalConfig,
    LrMultConfig,
)
from gtl_ray.config.reading import apply_override, from_dict, read_config
from gtl_ray.config.run_sections import (
    DataConfig,
    EvolutionConfig,
    LearngeneConfig,
    LifetimeConfig,
    ModelConfig,
    PopulationConfig,
    PretrainConfig,
    SplitsConfig,
    SplitSpec,
)
from gtl_ray.config.schema import DescendantShape, GTLConfig

__all__ = [
    "AFTConfig",
    "DataConfig",
    "DescendConfig",
    "DescendantConfig",
    "DescendantShape",
    "DistillConfig",
    "EvaluationConfig",
    "EvolutionConfig",
    "FinalConfig",
    "GTLConfig",
    "LearngeneConfig",
    "LifetimeConfig",
    "LrMultConfig",
    "ModelConfig",
    "PopulationConfig",
    "PretrainConfig",
    "SplitSpec",
    "SplitsConfig",
    "apply_override",
    "from_dict",
    "read_config",
]
