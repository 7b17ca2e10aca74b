"""Every CLI command with its human and --json output, exit codes, and `ray job submit` of the
quickstart against a head this test starts (token auth on)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import pytest

from gtl_ray.cli import main
from gtl_ray.commands.options import command_config, learngene_location
from gtl_ray.commands.parser import build_parser
from tests.conftest import tiny_overrides
from tests.helpers import GTL_RAY, end_session, subprocess_env

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def sets(*extra: str) -> list[str]:
    out = []
    for item in tiny_overrides(*extra):
        out += ["--set", item]
    return out


@pytest.fixture(scope="module")
def cli_run(ray_session, tmp_path_factory):
    """One tiny evolution through the real command, in a process of its own that starts its own
    Ray (--address local), stdout and stderr going to files as in a log or CI, with Tune's new
    output engine on (it prints tables unless evolve silences it): (storage, args, stdout, stderr)."""
    storage = tmp_path_factory.mktemp("cli")
    args = ["configs/quickstart.yaml", "--storage", str(storage), "--name", "cli"] + sets("evolution.generations=2")
    out, err = storage / "stdout.txt", storage / "stderr.txt"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(
            [GTL_RAY, "evolve", *args, "--address", "local"],
            cwd=REPO,
            env={**subprocess_env(), "RAY_AIR_NEW_OUTPUT": "1"},
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            code = proc.wait(600)
        finally:
            proc.kill()
            end_session(proc.pid)
    assert code == 0, err.read_text()[-3000:]
    return storage, args, out.read_text(), err.read_text()


def run_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_validate_prints_demand(capsys):
    assert main(["validate", "configs/quickstart.yaml"]) == 0
    assert "valid" in capsys.readouterr().out


def quiet(err: str) -> bool:
    """No progress line in a command's stderr (what --json promises)."""
    return not any(word in err for word in ("members placed", "generation 1/", "resuming", "episodes"))


def test_evolve_output_off_a_terminal(cli_run):
    """What `gtl-ray evolve` prints to a log: the run folder first, no colour codes, no Ray
    token-auth warning for the Ray it started itself, fitness in % beside chance, and on stdout
    the results and the next commands to run, filled in (and nothing of Tune's)."""
    storage, args, out, err = cli_run
    run = storage / "cli"
    lines = err.splitlines()
    assert lines[0] == f"run folder: {run}" and "\x1b[" not in err + out
    assert "Started a local Ray instance" in err and "Token authentication" not in err
    assert sum(" | fitness best " in line and "(chance 20% for 5-way) |" in line for line in lines) == 2
    assert out.splitlines()[:2] == [f"run: {run}", "generations completed: 2"]
    steps = out[out.index("next steps:") :].splitlines()
    assert f"  gtl-ray report {run}" in steps and f"  tensorboard --logdir {run}" in steps
    (evaluate,) = [shlex.split(line) for line in steps if line.startswith("  gtl-ray evaluate ")]
    assert evaluate == ["gtl-ray", "evaluate", str(run)]  # the run folder is enough
    parsed = build_parser().parse_args(evaluate[1:])
    manifest = json.loads((run / "manifest.json").read_text())
    config = command_config(parsed)
    assert config.to_dict() == manifest["config"]  # the config the run was started with
    assert learngene_location(parsed, config) == str(run / "final" / "learngene.safetensors")
    assert f"final learngene {manifest['final']['id']}: {run / 'final' / 'learngene.safetensors'}" in out


def test_evolve_inspect_evaluate_descend_json(cli_run, capsys):
    storage, args, _, _ = cli_run
    capsys.readouterr()
    assert main(["evolve", *args, "--resume", "--json"]) == 0  # complete: the outcome at once
    out, err = capsys.readouterr()
    outcome = json.loads(out)
    assert outcome["generations_completed"] == 2 and quiet(err)
    gene = run_json(capsys, ["inspect", outcome["final_learngene"], "--json"])
    assert {"architecture", "share", "num_params", "checksum"} <= set(gene) and gene["architecture"] == "vgg11"
    run = run_json(capsys, ["inspect", str(storage / "cli"), "--json"])
    assert run["generations_completed"] == 2 and run["population"] == 4
    assert len(run["fitness"]) == 2 and set(run["fitness"][0]) >= {"min", "median", "max"}
    assert run["final_learngene"]["checksum"] == gene["checksum"]
    assert run["final_lineage"][0]["id"].startswith("g0001")
    exported = storage / "exported"  # the run's final gene as `gtl-ray export` leaves it
    assert main(["export", str(storage / "cli"), str(exported)]) == 0
    capsys.readouterr()
    assert main(["evaluate", *args, "--learngene", str(exported), "--methods", "scratch,learngene", "--json"]) == 0
    out, err = capsys.readouterr()
    results = json.loads(out)["results"]
    assert quiet(err)
    assert [r["method"] for r in results] == ["scratch", "learngene"]
    # The run's HParams now hold the accuracies of its final gene beside its config.
    from tests.end_to_end.test_monitoring import scalars

    figures = scalars(storage / "cli" / "tensorboard" / "hparams")
    assert figures["evaluation/learngene/1-shot"][-1].value == pytest.approx(results[1]["mean"])
    assert "final/fitness_best" in figures
    assert all(
        {"method", "n_way", "shots", "mean", "ci95", "episodes"} <= set(r) and 0 <= r["mean"] <= 1 for r in results
    )
    descendant = run_json(
        capsys,
        [
            "descend",
            *args,
            "--learngene",
            outcome["final_learngene"],
            "--width",
            "0.25",
            "--set",
            "descend.epochs=1",
            "--set",
            "descend.train_per_class=5",
            "--json",
        ],
    )
    assert Path(descendant["path"]).is_file() and 0 <= descendant["test_accuracy"] <= 1 and descendant["width"] == 0.25


def test_a_run_folder_is_enough(cli_run, capsys, tmp_path):
    """config, evaluate, descend and evolve --resume from the run folder alone (its stored config,
    its final gene), and --learngene RUN for the run's final gene."""
    from gtl_ray.preflight import load_config

    storage, args, _, _ = cli_run
    run = storage / "cli"
    manifest = json.loads((run / "manifest.json").read_text())
    capsys.readouterr()
    assert main(["config", str(run)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"# effective config of run 'cli' (stored in {run}/manifest.json)\n")
    (tmp_path / "stored.yaml").write_text(text)
    assert load_config(tmp_path / "stored.yaml").to_dict() == manifest["config"]  # reads back as the same config
    report = run_json(capsys, ["evaluate", str(run), "--methods", "scratch,learngene", "--json"])
    assert json.loads((run / "evaluation.json").read_text()) == report  # where report and export look
    by_gene = run_json(capsys, ["evaluate", *args, "--learngene", str(run), "--methods", "learngene", "--json"])
    assert by_gene["results"] == report["results"][1:]  # the same gene (the run's final), the same episodes
    argv = ["descend", str(run), "--width", "0.25", "--set", "descend.epochs=1", "--set", "descend.train_per_class=5"]
    descendant = run_json(capsys, [*argv, "--json"])
    assert Path(descendant["path"]).is_relative_to(run / "descendants") and descendant["width"] == 0.25
    assert main(["evolve", "--resume", "--storage", str(storage), "--name", "cli"]) == 0  # no config: the stored one
    assert "generations completed: 2" in capsys.readouterr().out
    copy = tmp_path / "copy"  # the folder moved elsewhere still resumes, from its own stored config
    shutil.copytree(run, copy / "cli")
    longer = ["evolve", "--resume", "--storage", str(copy), "--name", "cli", "--set", "evolution.generations=3"]
    assert main(longer) == 2
    assert "config differs from the stored run in evolution.generations (pass --force" in capsys.readouterr().err
    assert main([*longer, "--force"]) == 0
    out = capsys.readouterr().out
    assert "generations completed: 3" in out and f"gtl-ray evaluate {copy / 'cli'}" in out
    assert main(["config", str(copy / "cli")]) == 0
    assert "\n  generations: 3\n" in capsys.readouterr().out


def test_human_readable_outputs(cli_run, capsys):
    storage, args, _, _ = cli_run
    capsys.readouterr()
    assert main(["inspect", str(storage / "cli")]) == 0
    out = capsys.readouterr().out
    assert "family line" in out and "final learngene" in out
    assert main(["evolve", *args, "--resume"]) == 0  # progress goes to stderr, results to stdout
    out, err = capsys.readouterr()
    assert (
        f"run {storage / 'cli'} is already complete" in err
        and "already complete" not in out
        and "generations completed: 2" in out
    )


def test_bad_input_exits_2_with_one_line(capsys, tmp_path):
    assert main(["validate", "configs/quickstart.yaml", "--set", "population.size=-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["gtl-ray: error: population.size: must be >= 1, got -1"]
    assert main(["inspect", str(tmp_path / "nothing")]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["fly"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug", "validate", "configs/quickstart.yaml"],
        ["validate", "configs/quickstart.yaml", "--debug"],
        ["validate", "--debug", "configs/quickstart.yaml"],
    ],
)
def test_debug_is_accepted_before_or_after_the_command(argv):
    from gtl_ray.errors import ConfigError

    with pytest.raises(ConfigError, match="population.size"):  # --debug: the error keeps its traceback
        main(argv + ["--set", "population.size=-1"])


def test_python_dash_m_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "gtl_ray", "validate", "configs/quickstart.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and "valid" in out.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_cluster(temp_dir: str) -> None:
    """End only the processes of the head this test started (their command lines name its
    temp dir or its session), never `ray stop`, which would end every Ray on the machine."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if temp_dir.encode() in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


def _start_head(env: dict[str, str], temp_dir: str) -> tuple[int, str]:
    """`ray start --head` on free ports under `temp_dir`; returns (dashboard port, '') or (0, why
    it failed: the tail of its output)."""
    dashboard = _free_port()
    started = subprocess.run(
        [
            str(BIN / "ray"),
            "start",
            "--head",
            f"--port={_free_port()}",
            f"--dashboard-port={dashboard}",
            "--dashboard-host=127.0.0.1",
            "--include-dashboard=true",
            "--num-cpus=2",
            f"--temp-dir={temp_dir}",
            "--disable-usage-stats",
            # Own ports for the agents, so they never collide with another Ray on this machine.
            f"--dashboard-agent-listen-port={_free_port()}",
            f"--dashboard-agent-grpc-port={_free_port()}",
            f"--metrics-export-port={_free_port()}",
            f"--runtime-env-agent-port={_free_port()}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if started.returncode == 0:
        return dashboard, ""
    return 0, f"ray start exited {started.returncode}:\n{started.stdout[-2000:]}\n{started.stderr[-3000:]}"


@pytest.mark.slow
def test_ray_job_submit_quickstart_against_local_head(tmp_path):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "RAY_AUTH_MODE": "token"}
    env.pop("RAY_ADDRESS", None)
    subprocess.run(
        [str(BIN / "ray"), "get-auth-token", "--generate"], env=env, capture_output=True, check=True, timeout=60
    )
    current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
    previous = current.read_text() if current.exists() else None
    temp_dirs: list[str] = []
    try:
        # A second try on fresh ports: once in a clean-clone make test, with both cores busy,
        # `ray start` exited 1 after 33 s (its output was not kept then; it is reported now).
        failures = []
        for _ in range(2):
            temp_dirs.append(os.path.join(tempfile.gettempdir(), f"gtlj{uuid.uuid4().hex[:6]}"))
            dashboard, failure = _start_head(env, temp_dirs[-1])
            if not failure:
                break
            failures.append(failure)
            _kill_cluster(temp_dirs[-1])
        assert dashboard, "\n\n".join(failures)
        if failures:
            warnings.warn(f"the first `ray start` failed, the second started: {failures[0]}")
        storage = tmp_path / "runs"
        command = [
            str(BIN / "ray"),
            "job",
            "submit",
            "--address",
            f"http://127.0.0.1:{dashboard}",
            "--working-dir",
            str(REPO),
            "--",
            "gtl-ray",
            "evolve",
            "configs/quickstart.yaml",
            "--storage",
            str(storage),
            *sets("evolution.generations=2"),
        ]
        for _ in range(20):  # the head's job agent comes up a little after `ray start` returns
            submit = subprocess.run(command, env=env, capture_output=True, text=True, timeout=420)
            if "No available agent" not in submit.stderr + submit.stdout:
                break
            time.sleep(2)
        assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
        assert "succeeded" in submit.stdout
        manifest = json.loads((storage / "quickstart" / "manifest.json").read_text())
        assert manifest["generations_completed"] == 2 and manifest["final"] is not None
        # Without the token the job server refuses the client: auth is really on.
        refused = subprocess.run(
            [str(BIN / "ray"), "job", "list", "--address", f"http://127.0.0.1:{dashboard}"],
            env={**env, "RAY_AUTH_MODE": "disabled"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert refused.returncode != 0
    finally:
        for temp_dir in temp_dirs:
            _kill_cluster(temp_dir)
        if current.exists() and current.read_text() != previous:
            if previous is None:
                current.unlink()
            else:
                current.write_text(previous)
        for temp_dir in temp_dirs:
            shutil.rmtree(temp_dir, ignore_errors=True)
