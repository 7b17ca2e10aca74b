"""The driver's live view of a running evolution, and Tune kept quiet while it runs (its tables,
its INFO lines, and its reports on saving its own state).

`PopulationProgress` is a Tune callback in the driver: a line once every member has its actor,
then one per generation. The learngene pool is the authority on generations, so the callback
keeps one call `pool.generation_summary(g)` pending and looks at it, without blocking, at every
step of Tune's loop; after `fit` returns, `catch_up` prints what the loop did not see (the last
generation, usually).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any, Iterator, Mapping, Sequence

import ray
from ray import tune

from gtl_ray.progress import Progress


class PopulationProgress(tune.Callback):
    """Also the start-up clock (`startup`): from the Tuner's start to the last member actor
    started (placement: resources, process, torch and Tune imports, `setup`), and from then to
    every actor's result of the first generation this session lives.

    Args:
    progress: where the lines go.
    pool: the learngene pool's actor handle.
    first: the first generation this session lives (0-based).
    planned: evolution.generations.
    members: population.size.
    need: one member's resources (for the placement line).
    per_actor: population.members_per_actor (an actor, a Tune trial, holds that many members).
    """

    def __init__(
        self,
        progress: Progress,
        pool: Any,
        first: int,
        planned: int,
        members: int,
        need: Mapping[str, float],
        per_actor: int = 1,
    ):
        self.progress = progress
        self.pool = pool
        self.planned = planned
        self.members = members
        self.actors = members // per_actor
        self.need = dict(need)
        self.first = first
        self.next = first  #: the generation whose line comes next
        self.started = time.monotonic()
        self.placed: set[int] = set()
        self.reported_first: set[int] = set()
        self.placed_at: float | None = None
        self.first_done_at: float | None = None
        self._pending = pool.generation_summary.remote(first) if first < planned else None

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.placed.add(int(trial.config["member"]))
        if self.placed_at is None and len(self.placed) == self.actors:
            self.placed_at = time.monotonic()
            self.progress.placed(self.members, self.need, self.placed_at - self.started, self.first, self.planned)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if result.get("generation") == self.first:
            self.reported_first.add(int(trial.config["member"]))
            if self.first_done_at is None and len(self.reported_first) == self.actors:
                self.first_done_at = time.monotonic()

    def startup(self) -> dict[str, float | None]:
        """Seconds to place every member actor, and then to live the first generation (None
        for what did not happen in this session)."""
        placed, done = self.placed_at, self.first_done_at
        return {
            "placement_s": None if placed is None else placed - self.started,
            "first_generation_s": None if placed is None or done is None else done - placed,
        }

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        while self._pending is not None and ray.wait([self._pending], timeout=0)[0]:
            try:
                summary = ray.get(self._pending)
            except ray.exceptions.RayActorError:  # the pool is gone; RunWatch stops the run
                self._pending = None
                return
            self._show(summary)

    def catch_up(self, summaries: Sequence[Mapping[str, Any]]) -> None:
        """After the run: lines for the generations not shown yet (`summaries`: all of the run)."""
        self._pending = None
        for summary in summaries[self.next :]:
            self._show(summary)

    def _show(self, summary: Mapping[str, Any]) -> None:
        self.progress.generation(summary, self.planned)
        self.next = int(summary["generation"]) + 1
        self._pending = self.pool.generation_summary.remote(self.next) if self.next < self.planned else None

    def __getstate__(self) -> dict:
        # Tune may save its callbacks with the experiment; the pending call stays in this process.
        return {k: v for k, v in self.__dict__.items() if k not in ("_pending", "progress")}


class TuneStateReports(logging.Filter):
    """Holds back what Tune logs about saving its own experiment state and syncing its results
    to the run's storage (errors with tracebacks when that storage fails); `failure` keeps the
    first failure's line."""

    LOGGERS = (
        "ray.tune.execution.experiment_state",  # saving it
        "ray.train._internal.syncer",  # syncing it to the storage
        "ray.train._internal.storage",  # making its folders there
        "ray.tune.analysis.experiment_analysis",  # reading it back when Tune ends
    )

    def __init__(self) -> None:
        super().__init__()
        self.failure: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if self.failure is None and ("fail" in record.getMessage() or record.exc_info):
            error = record.exc_info[1] if record.exc_info else None
            line = " ".join(f"{record.getMessage()} {error or ''}".split())
            self.failure = line[:300]
        return False


@contextlib.contextmanager
def quiet_tune() -> Iterator[TuneStateReports]:
    """While Tune runs: no tables and no INFO lines from Tune; its warnings and errors still show,
    except its reports on saving its own state (`TuneStateReports`, yielded to say whether any
    failed: gtl_ray never restores that state, and a storage fault is the pool's to report).

    With `verbose=0` Tune's legacy output engine prints nothing, but the new engine (the default
    unless `RAY_AIR_NEW_OUTPUT=0`) still prints a configuration table and result paths on stdout,
    where `--json` output goes; and Tune logs "Wrote the latest version of all result files" at
    INFO when it ends. Both are switched off through their public settings, then restored."""
    saved_env = os.environ.get("RAY_AIR_NEW_OUTPUT")
    tune_logger = logging.getLogger("ray.tune")
    saved_level = tune_logger.level
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
    tune_logger.setLevel(max(logging.WARNING, saved_level))
    reports = TuneStateReports()
    for name in reports.LOGGERS:
        logging.getLogger(name).addFilter(reports)
    try:
        yield reports
    finally:
        for name in reports.LOGGERS:
            logging.getLogger(name).removeFilter(reports)
        tune_logger.setLevel(saved_level)
        if saved_env is None:
            os.environ.pop("RAY_AIR_NEW_OUTPUT", None)
        else:
            os.environ["RAY_AIR_NEW_OUTPUT"] = saved_env
