"""gtl_ray.service.scheduler: Tune's scheduler for the population never pauses a member and only
shows the generation reached."""

from __future__ import annotations

from ray.tune.schedulers import TrialScheduler

from gtl_ray.service.scheduler import NonPausingScheduler


def test_every_result_continues_and_the_generation_reached_is_shown():
    scheduler = NonPausingScheduler(generations=3)
    assert scheduler.debug_string() == "GTL population: generation 0/3 reached"
    decisions = [scheduler.on_trial_result(None, None, {"generation": g}) for g in (1, 0, 2)]
    assert decisions == [TrialScheduler.CONTINUE] * 3
    assert scheduler.debug_string() == "GTL population: generation 3/3 reached"
