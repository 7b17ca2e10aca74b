"""Tune's per-member TensorBoard logger (`RUN/tune-from-NNNN/<member>/`), with the member's
generation as the step instead of Tune's iteration counter, which restarts at 1 in every
`tune-from-NNNN` of a resumed run. The population's figures are `gtl_ray.service.tensorboard`."""

from __future__ import annotations

from ray.tune.logger import TBXLoggerCallback
from ray.tune.result import TIMESTEPS_TOTAL, TRAINING_ITERATION


class GenerationTBXLogger(TBXLoggerCallback):
    """Tune's TensorBoard logger, stepping by the result's `generation` (Tune's own logger steps by
    `timesteps_total`, else `training_iteration`; neither is logged as a figure)."""

    def log_trial_result(self, iteration: int, trial, result: dict) -> None:
        if "generation" in result:
            result = {**result, TIMESTEPS_TOTAL: None, TRAINING_ITERATION: int(result["generation"])}
        super().log_trial_result(iteration, trial, result)
