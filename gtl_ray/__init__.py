"""gtl_ray: Genetic Transfer Learning on Ray.

A population evolves a learngene (a ~20% channel core of a network's weights) through lifetimes,
tournaments and mutation; the learngene then initializes descendants for new tasks.

    run = gtl_ray.evolve("configs/quickstart.yaml")     # on Ray; a RunResult: final_gene, lineage, ...
    run = gtl_ray.open_run("runs/quickstart")           # a run folder read back (finished or running)

The names that need torch (models, configs checked against them, gene surgery) are imported on
first use: `gtl-ray inspect` and the learngene pool import this package without torch.
"""

from typing import Any

from gtl_ray.config import GTLConfig
from gtl_ray.errors import GTLError
from gtl_ray.learngene import Learngene

__version__ = "0.1.0"
__all__ = [
    "GTLConfig",
    "GTLError",
    "Learngene",
    "RunResult",
    "create_model",
    "evolve",
    "extract_learngene",
    "implant",
    "list_models",
    "load_config",
    "open_run",
    "register_model",
]


def __getattr__(name: str) -> Any:
    if name == "load_config":
        from gtl_ray.preflight import load_config

        return load_config
    if name in ("evolve", "open_run", "RunResult"):
        from gtl_ray import api

        return getattr(api, name)
    if name == "create_model":
        from gtl_ray.factory import create_model

        return create_model
    if name in ("extract_learngene", "implant"):
        from gtl_ray import learngene  # imports them on first use itself

        return getattr(learngene, name)
    if name in ("list_models", "register_model"):
        from gtl_ray import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
