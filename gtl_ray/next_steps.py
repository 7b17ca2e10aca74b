"""What a person can do once a command has finished: the commands to run next, printed with the
paths of this run filled in, so that none has to be looked up."""

from __future__ import annotations

import shlex

from gtl_ray import storage

TENSORBOARD_HINT = "tensorboard --logdir"  #: the `report` extra brings TensorBoard


def after_evolve(run_dir: str) -> list[str]:
    """Next steps after `gtl-ray evolve`: look at the run, evaluate its gene, share it. Each takes
    the run folder alone (the run stored its config and its final gene)."""
    results = storage.join(run_dir, "evaluation.json")
    commands = [
        (["gtl-ray", "report", run_dir], "HTML page: fitness, family tree, timing"),
        ([*TENSORBOARD_HINT.split(), run_dir], "curves of the population and of every member; HParams"),
        (["gtl-ray", "evaluate", run_dir], f"the final gene against the baselines on novel classes (to {results})"),
        (["gtl-ray", "export", run_dir, "GENE_DIR"], "a folder with a model card, for a model hub"),
    ]
    lines = ["next steps:"]
    for argv, what in commands:
        lines += [f"  # {what}", "  " + shlex.join(argv)]
    return lines
