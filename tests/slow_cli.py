"""`gtl-ray` whose Ray stretches every lifetime by $GTL_RAY_TEST_DELAY_S seconds, for fault tests
that must land inside a generation (the delay lives in test code, never in gtl_ray)."""

from __future__ import annotations

import functools
import os
import sys

import ray

from tests.helpers import DELAY_ENV, slow_runtime_env

if __name__ == "__main__":
    ray.init = functools.partial(ray.init, runtime_env=slow_runtime_env(float(os.environ.get(DELAY_ENV) or 0)))
    from gtl_ray.cli import main

    sys.exit(main(sys.argv[1:]))
