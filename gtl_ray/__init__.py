"""gtl_ray: Genetic Transfer Learning on Ray.

A population evolves a learngene (a ~20% channel core of a network's weights) through lifetimes,
tournaments and mutation; the learngene then initializes descendants for new tasks.
"""
from gtl_ray.config import GTLConfig
from gtl_ray.config_checks import load_config
from gtl_ray.errors import GTLError
from gtl_ray.factory import create_model
from gtl_ray.learngene import Learngene, extract_learngene, implant
from gtl_ray.models import list_models, register_model

__version__ = "0.1.0"
__all__ = ["GTLConfig", "GTLError", "Learngene", "create_model", "extract_learngene", "implant", "list_models", "load_config", "register_model"]
