"""Live progress lines for people watching a command (stderr), apart from results (stdout) and
logs: where an evolution starts, when its members are placed, one line per generation with
fitness, seconds per generation and ETA; episodes done of an evaluation. Generations are counted
from 1 here (`generation 3/50`: the third of 50 is complete); files and TensorBoard steps count
from 0.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable, Mapping, Sequence, TextIO

from gtl_ray.config import GTLConfig
from gtl_ray.percent import chance_note, percent
from gtl_ray.run.layout import RunLayout


def duration(seconds: float) -> str:
    """`40 s`, `9 min`, `2.5 h`."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Progress:
    """Writes progress lines to `stream`; `Progress(None)` (or `Progress.quiet()`) writes nothing.

    Args:
        stream: where the lines go (stderr from the CLI); None: nowhere.
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(self, stream: TextIO | None, clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.clock = clock
        self.walls: list[float] = []  #: wall seconds of the generations lived in this session
        self.chance: str | None = None  #: shown beside fitness, e.g. "chance 20% for 5-way" (`percent.chance_note`)

    @classmethod
    def quiet(cls) -> "Progress":
        return cls(None)

    def line(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream, flush=True)

    # -------------------------------------------------------------- evolve

    def resuming(self, generation: int, planned: int, accepted: Sequence[tuple[str, Any, Any]]) -> None:
        """A resumed run: the first generation it lives (0-based `generation`) and the config
        differences --force accepted, as (key, stored value, new value)."""
        forced = (
            f" (accepted with --force: {', '.join(f'{k} {_value(old)} -> {_value(new)}' for k, old, new in accepted)})"
            if accepted
            else ""
        )
        if generation >= planned:
            self.line(f"resuming: all {planned} generations done, choosing the final learngene{forced}")
        else:
            self.line(f"resuming at generation {generation + 1}/{planned}{forced}")

    def placed(self, members: int, need: Mapping[str, float], seconds: float, generation: int, planned: int) -> None:
        """Every member has its actor: the population is at work on `generation` (0-based)."""
        each = ", ".join(f"{k} {v:g}" for k, v in need.items() if v)
        living = f"living generation {generation + 1}/{planned}"
        self.line(f"{members} members placed in {duration(seconds)} ({each} each); {living}")

    def generation(self, summary: Mapping[str, Any], planned: int) -> None:
        """One line for a completed generation (a GenerationSummary as a dict)."""
        self.walls.append(float(summary["timing"]["wall"]))
        done = int(summary["generation"]) + 1
        per = sum(self.walls) / len(self.walls)
        left = planned - done
        eta = f"ETA {duration(left * per)}" if left > 0 else "done"
        fit = summary["fitness"]
        chance = f" ({self.chance})" if self.chance else ""
        self.line(
            f"generation {done}/{planned} | fitness best {percent(fit['max'], 0)} "
            f"median {percent(fit['median'], 0)}{chance} | {per:.1f} s/gen | {eta}"
        )

    # -------------------------------------------------------------- evaluate

    def counter(self, label: str, unit: str, interval_s: float = 10.0) -> Callable[[int, int], None]:
        """A `progress(done, total)` callback: `label: 30/40 episodes | 2.1 s/episode | ETA 21 s`.
        On a terminal one line rewritten in place; elsewhere (logs, pipes) the first call, one
        line per `interval_s` and the last."""
        tty = bool(self.stream is not None and getattr(self.stream, "isatty", lambda: False)())
        state = {"start": None, "printed": None}

        def report(done: int, total: int) -> None:
            now = self.clock()
            if state["start"] is None:
                state["start"] = now
            finished = done >= total
            if not (tty or finished or state["printed"] is None or now - state["printed"] >= interval_s):
                return
            state["printed"] = now
            text = f"{label}: {done}/{total} {unit}"
            if 0 < done:
                per = (now - state["start"]) / done
                text += f" | {per:.1f} s/{unit.rstrip('s')}" + (
                    "" if finished else f" | ETA {duration(per * (total - done))}"
                )
            if self.stream is None:
                return
            if tty:
                print(f"\r{text}\033[K", end="\n" if finished else "", file=self.stream, flush=True)
            else:
                self.line(text)

        return report


def stderr_unless(quiet: bool) -> Progress:
    """The CLI's progress: stderr, or nothing with --json."""
    return Progress.quiet() if quiet else Progress(sys.stderr)


def evolve_progress(config: GTLConfig, quiet: bool = False) -> Progress:
    """An evolution's progress on stderr (nothing when `quiet`): fitness beside its chance level,
    and first of all the run folder, so that a person knows where to look before it ends."""
    progress = stderr_unless(quiet)
    progress.chance = chance_note(config)
    progress.line(f"run folder: {RunLayout(config.storage, config.name).run_dir}")
    return progress
