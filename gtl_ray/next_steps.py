"""What a person can do once a command has finished: the commands to run next, printed with the
paths of this run filled in, so that none has to be looked up."""

from __future__ import annotations

import shlex
from typing import Sequence

from gtl_ray import storage

TENSORBOARD_HINT = "tensorboard --logdir"  #: the `report` extra brings TensorBoard


def after_evolve(run_dir: str, final_gene: str, config_args: Sequence[str]) -> list[str]:
    """Next steps after `gtl-ray evolve`: look at the run, evaluate its gene, share it.
    `config_args`: the config and overrides the run was started with (evaluate needs them)."""
    evaluation = storage.join(run_dir, "evaluation.json")
    evaluate = ["gtl-ray", "evaluate", *config_args, "--learngene", final_gene, "--out", evaluation]
    commands = [
        (["gtl-ray", "report", run_dir], "HTML page: fitness, family tree, timing"),
        ([*TENSORBOARD_HINT.split(), run_dir], "curves of the population and of every member; HParams"),
        (evaluate, "the gene against the baselines on novel classes"),
        (["gtl-ray", "export", run_dir, "GENE_DIR"], "a folder with a model card, for a model hub"),
    ]
    lines = ["next steps:"]
    for argv, what in commands:
        lines += [f"  # {what}", "  " + shlex.join(argv)]
    return lines
