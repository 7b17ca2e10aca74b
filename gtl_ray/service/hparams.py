"""TensorBoard's HParams view of a run: its config keys against its final fitness and, once
`gtl-ray evaluate` has scored the run's final gene, the evaluation accuracies, so that runs can
be compared by config (`tensorboard --logdir STORAGE`: one session per run).

`RUN/tensorboard/hparams/` holds one event file, rewritten whole (atomically) when the run ends
and when its final gene is evaluated. Metrics are fractions (0..1), as every TensorBoard tag of
the run. Like the other figures, a failed write is logged, never raised. Imports neither Tune nor
torch.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import tempfile
from typing import Any

from gtl_ray import storage
from gtl_ray.errors import GTLError
from gtl_ray.run.layout import MANIFEST, TENSORBOARD
from gtl_ray.run.manifest import Manifest
from gtl_ray.run.store import RunStore

log = logging.getLogger(__name__)
FOLDER = "hparams"  #: under RUN/tensorboard: a TensorBoard run of its own
FILE = "events.out.tfevents.0.hparams.gtl_ray"
SKIPPED = ("storage",)  #: config keys that say where, not how


def hyperparameters(config: dict[str, Any], prefix: str = "") -> dict[str, str | float | bool]:
    """The config as flat `section.key` hyperparameters: numbers, booleans, strings; lists and
    mappings as JSON, None as `null`."""
    out: dict[str, str | float | bool] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if name in SKIPPED:
            continue
        if isinstance(value, dict) and value:
            out.update(hyperparameters(value, f"{name}."))
        elif isinstance(value, (bool, str)) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            out[name] = value if isinstance(value, (bool, str)) else float(value)
        else:
            out[name] = json.dumps(value)
    return out


def metrics(manifest: Manifest, evaluation: dict[str, list[dict[str, Any]]] | None) -> dict[str, float]:
    """Final fitness of the last generation (best and median) and every evaluation row's mean
    accuracy, as `evaluation/METHOD/N-shot`."""
    out: dict[str, float] = {}
    if manifest.generations:
        fitness = manifest.generations[-1].fitness
        out.update({"final/fitness_best": float(fitness["max"]), "final/fitness_median": float(fitness["median"])})
    for row in (evaluation or {}).get("results", []):
        out[f"evaluation/{row['method']}/{row['shots']}-shot"] = float(row["mean"])
    return out


def write_hparams(run_dir: str, evaluation: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """(Re)write the run's HParams event file; `evaluation` (row sections, as `evaluate --out`
    writes them) defaults to RUN/evaluation.json when present."""
    try:
        store = RunStore.from_path(run_dir)
        manifest = store.read_manifest()
        if evaluation is None and storage.exists(store.path("evaluation.json")):
            from gtl_ray.evaluation.results_file import read_evaluation

            evaluation = read_evaluation(store.path("evaluation.json"))
        data = _event_file(hyperparameters(manifest.config), metrics(manifest, evaluation), manifest)
        storage.write_bytes_atomic(store.path(TENSORBOARD, FOLDER, FILE), data)
    except Exception as exc:  # figures must not fail a run or an evaluation
        log.warning("TensorBoard HParams of %s not written: %s", run_dir, exc)


def _event_file(hparams: dict[str, Any], values: dict[str, float], manifest: Manifest) -> bytes:
    from tensorboardX import SummaryWriter
    from tensorboardX.summary import hparams as hparams_summaries

    step = max(0, manifest.done - 1)
    with tempfile.TemporaryDirectory(prefix="gtl-hparams-") as tmp:
        writer = SummaryWriter(tmp, flush_secs=3600)
        for summary in hparams_summaries(hparam_dict=hparams, metric_dict=values):
            writer.file_writer.add_summary(summary)
        for tag, value in values.items():
            writer.add_scalar(tag, value, global_step=step)
        writer.close()
        (written,) = glob.glob(os.path.join(tmp, "events.out.tfevents.*"))
        with open(written, "rb") as handle:
            return handle.read()


def add_evaluation(run_dir: str, checksum: str, evaluation: dict[str, list[dict[str, Any]]]) -> bool:
    """After `gtl-ray evaluate`: when the gene it scored (`checksum`) is the final learngene of
    the run at `run_dir`, rewrite that run's HParams with the accuracies. Returns whether it did."""
    if not is_final_gene_of(run_dir, checksum):
        return False
    write_hparams(run_dir, evaluation)
    return True


def is_final_gene_of(run_dir: str, checksum: str) -> bool:
    """Whether `checksum` is the final learngene of the run at `run_dir`."""
    try:
        if not storage.exists(storage.join(run_dir, MANIFEST)):
            return False
        final = RunStore.from_path(run_dir).read_manifest().final
    except GTLError:  # not a run folder gtl_ray can read: no HParams to add to
        return False
    return final is not None and final.checksum == checksum
