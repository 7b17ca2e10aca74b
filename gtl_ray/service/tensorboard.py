"""TensorBoard for a run, with the generation as the step everywhere, continuous across resumes.

`PopulationBoard` holds the population's figures, one TensorBoard run at `RUN/tensorboard/`. The
learngene pool writes a generation's figures once its checkpoint is written, one event file per
generation (`events.out.tfevents.GGGGGG.gtl_ray`, written whole, atomically), so the step of a
figure is fixed by its file's name: a generation written again (resume, crash repair) replaces
its file instead of adding a second point, and `sync` makes the folder match the manifest when a
run resumes. Figures are never worth a run: a failed write is logged, and the next resume writes
what is missing.

The members' own figures are Tune's (`gtl_ray.service.member_board`). This module imports
neither Tune nor torch: the learngene pool runs it.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import tempfile
from typing import Sequence

from gtl_ray import storage
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.summary import GenerationSummary

log = logging.getLogger(__name__)
_FILE = re.compile(r"events\.out\.tfevents\.(\d{6,})\.gtl_ray")
#: the population's min / median / max fitness drawn in one chart (TensorBoard's custom scalars)
LAYOUT = {"population": {"fitness min / median / max": ["Multiline", ["fitness/min", "fitness/median", "fitness/max"]]}}


def event_file_name(generation: int) -> str:
    return f"events.out.tfevents.{generation:06d}.gtl_ray"


def generation_scalars(summary: GenerationSummary) -> dict[str, float]:
    """A generation's figures as TensorBoard tags: fitness (fractions 0..1), seconds, and
    sample-gradients (images forwarded and back-propagated) summed over the members."""
    scalars = {f"fitness/{k}": float(v) for k, v in summary.fitness.items()}
    scalars["population/best_member"] = float(summary.best_member)
    scalars.update({f"time/{k}_s": float(v) for k, v in summary.timing.items()})
    scalars.update({f"sample_grads/{k}": float(v) for k, v in summary.sample_grads.items()})
    return scalars


class PopulationBoard:
    """The event files of `RUN/tensorboard/`.

    Args:
        directory: RUN/tensorboard (local path or URI).
    """

    def __init__(self, directory: str):
        self.directory = directory

    def generations(self) -> list[int]:
        """The generations that have an event file, sorted."""
        return sorted(int(m.group(1)) for name in storage.list_dir(self.directory) if (m := _FILE.fullmatch(name)))

    def write(self, summary: GenerationSummary, records: Sequence[LineageRecord] = ()) -> None:
        """(Re)write the event file of `summary.generation`: its scalars and, given the
        generation's lineage records, a histogram of the members' fitness."""
        try:
            self._write(summary, records)
        except Exception as exc:  # monitoring must not stop an evolution
            log.warning(
                "TensorBoard figures of generation %d not written to %s: %s", summary.generation, self.directory, exc
            )

    def _write(self, summary: GenerationSummary, records: Sequence[LineageRecord]) -> None:
        from tensorboardX import SummaryWriter

        step = summary.generation
        with tempfile.TemporaryDirectory(prefix="gtl-tensorboard-") as tmp:
            writer = SummaryWriter(tmp, flush_secs=3600)
            for tag, value in generation_scalars(summary).items():
                writer.add_scalar(tag, value, global_step=step)
            if records:
                writer.add_histogram("fitness/members", [r.fitness for r in records], global_step=step)
            writer.add_custom_scalars(LAYOUT)
            writer.close()
            (written,) = glob.glob(os.path.join(tmp, "events.out.tfevents.*"))
            with open(written, "rb") as handle:
                data = handle.read()
        storage.write_bytes_atomic(storage.join(self.directory, event_file_name(step)), data)

    def sync(self, summaries: Sequence[GenerationSummary], lineage: Sequence[LineageRecord]) -> None:
        """Make the folder hold exactly the completed generations: write the missing ones (a
        run stopped between its checkpoint and its figures), remove any past the last one."""
        try:
            have = set(self.generations())
            for generation in sorted(have - {s.generation for s in summaries}):
                storage.delete_file(storage.join(self.directory, event_file_name(generation)))
        except Exception as exc:  # monitoring must not stop an evolution
            log.warning("TensorBoard folder %s not synced: %s", self.directory, exc)
            return
        for summary in summaries:
            if summary.generation not in have:
                self.write(summary, [r for r in lineage if r.generation == summary.generation])
