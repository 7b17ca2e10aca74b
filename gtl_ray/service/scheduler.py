"""The population's Tune scheduler: population-based training, synchronous per generation,
that moves learngenes instead of checkpoints — as a thin shell.

Like Tune's `PopulationBasedTraining` it sees every member's result per generation, and the
population is exploited (tournaments, elitism) and explored (mutation) between generations.
Unlike PBT it never pauses a member and never clones a checkpoint into a loser: the exploit and
explore steps are `evolution.strategy.Strategy.tell` and `.inherit`, run by the learngene pool
the moment a generation's last gene arrives and by each member when it is born. So this
scheduler holds no evolution state and never waits on anything: it answers CONTINUE to every
result, which keeps Tune's per-generation cost near zero, and shows the generation reached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

if TYPE_CHECKING:
    from ray.tune.execution.tune_controller import TuneController


class NonPausingScheduler(FIFOScheduler):
    """Tune's view of the population: every member continues until its last generation.

    Args:
        generations: evolution.generations, for the progress line.
    """

    def __init__(self, generations: int):
        super().__init__()
        self.generations = generations
        self.reached = -1  #: highest generation any member has reported

    def on_trial_result(self, tune_controller: "TuneController", trial: Trial, result: dict) -> str:
        self.reached = max(self.reached, int(result.get("generation", -1)))
        return TrialScheduler.CONTINUE

    def debug_string(self) -> str:
        return f"GTL population: generation {self.reached + 1}/{self.generations} reached"
