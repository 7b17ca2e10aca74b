"""A run's folder: where each file lives (`layout`), what the manifest says (`manifest`), reading
and writing it (`store`), and where a run starts again (`resume`).

Torch-free: the learngene pool and `gtl-ray inspect` read and write runs without torch.
"""

from gtl_ray.run.layout import RunLayout, check_run_name
from gtl_ray.run.manifest import Manifest
from gtl_ray.run.store import RunStore

__all__ = ["Manifest", "RunLayout", "RunStore", "check_run_name"]
