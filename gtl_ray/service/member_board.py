"""Tune's per-member TensorBoard logger (`RUN/tune-from-NNNN/member-MMMM/`), with the member's
generation as the step instead of Tune's iteration counter, which restarts at 1 in every
`tune-from-NNNN` of a resumed run; and the members' trial names. The population's figures are
`gtl_ray.service.tensorboard`, the run's HParams `gtl_ray.service.hparams`."""

from __future__ import annotations

import functools
from typing import Any, Callable

from ray.tune.logger import TBXLoggerCallback
from ray.tune.result import TIMESTEPS_TOTAL, TRAINING_ITERATION


class GenerationTBXLogger(TBXLoggerCallback):
    """Tune's TensorBoard logger, stepping by the result's `generation` (Tune's own logger steps by
    `timesteps_total`, else `training_iteration`; neither is logged as a figure)."""

    def log_trial_result(self, iteration: int, trial, result: dict) -> None:
        if "generation" in result:
            result = {**result, TIMESTEPS_TOTAL: None, TRAINING_ITERATION: int(result["generation"])}
        super().log_trial_result(iteration, trial, result)

    def _try_log_hparams(self, trial, result: dict) -> None:
        """None per member: a member's trial config (its index, the pool's name) is no
        hyperparameter; the run's HParams are written by `gtl_ray.service.hparams`."""


def trial_name(members_per_actor: int, trial: Any) -> str:
    """`member-0003` (or `members-0004-0007` for an actor of 4): the name of a member actor's
    Tune trial and of its folder, in place of Tune's `MemberTrainable_a5c46_00000_0_member=0_...`."""
    first = int(trial.config["member"])
    if members_per_actor == 1:
        return f"member-{first:04d}"
    return f"members-{first:04d}-{first + members_per_actor - 1:04d}"


def trial_names(members_per_actor: int) -> Callable[[Any], str]:
    """`trial_name` for `tune.TuneConfig(trial_name_creator=..., trial_dirname_creator=...)`."""
    return functools.partial(trial_name, members_per_actor)
