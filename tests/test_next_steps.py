"""gtl_ray.next_steps: the commands printed after `gtl-ray evolve`, with the run's own path."""

from __future__ import annotations

import shlex

from gtl_ray.next_steps import after_evolve


def test_every_next_step_takes_the_run_folder_quoted_for_a_shell():
    run_dir = "/tmp/my runs/quick start"
    lines = after_evolve(run_dir)
    commands = [shlex.split(line) for line in lines[1:] if not line.strip().startswith("#")]
    assert lines[0] == "next steps:" and len(commands) == 4
    assert all(run_dir in argv for argv in commands)
    assert [argv[:2] for argv in commands if argv[0] == "gtl-ray"] == [
        ["gtl-ray", "report"],
        ["gtl-ray", "evaluate"],
        ["gtl-ray", "export"],
    ]
