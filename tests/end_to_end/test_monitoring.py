"""What a user watches: TensorBoard (step = generation, continuous across resumes, the last
generation included), the live progress lines, the Ray metrics' Grafana dashboard."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import pytest

from gtl_ray.evolution.summary import GenerationSummary
from gtl_ray.percent import chance_note
from gtl_ray.preflight import load_config
from gtl_ray.progress import Progress
from gtl_ray.service.metrics import METRICS, exported_name
from gtl_ray.service.tensorboard import PopulationBoard, event_file_name

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "cluster" / "grafana" / "gtl-ray-dashboard.json"
GENERATION_LINE = re.compile(
    r"generation (\d+)/(\d+) \| fitness best \d{1,3}% median \d{1,3}%( \(chance \d+% for \d+-way\))? \| \d+\.\d s/gen \| (ETA \d+(\.\d)? (s|min|h)|done)"
)


def summary(generation: int, best: float = 0.72) -> dict:
    return GenerationSummary(
        generation,
        {"min": 0.2, "median": 0.53, "max": best, "mean": 0.5},
        1,
        ["c"] * 4,
        {
            "wall": 11.2,
            "lifetime_max": 10.0,
            "lifetime_mean": 9.0,
            "scheduling": 1.2,
            "selection": 0.01,
            "checkpoint": 0.1,
        },
        {"lifetime": 800, "fitness": 0},
    ).__dict__


def scalars(directory: str | Path) -> dict[str, list]:
    """Every scalar tag's events in a TensorBoard run folder, read back as TensorBoard does."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    return {tag: accumulator.Scalars(tag) for tag in accumulator.Tags()["scalars"]} | {
        f"histogram:{tag}": accumulator.Histograms(tag) for tag in accumulator.Tags()["histograms"]
    }


# ---------------------------------------------------------------- progress lines


def test_generation_lines_show_fitness_speed_and_eta():
    out = io.StringIO()
    progress = Progress(out)
    progress.chance = chance_note(load_config(None, ["lifetime.n_way=5"]))
    progress.placed(64, {"CPU": 1.0, "GPU": 0.25}, 36.4, 0, 50)
    for g in range(3):
        progress.generation(summary(g), 50)
    progress.generation(summary(49, best=1.0), 50)
    lines = out.getvalue().splitlines()
    assert lines[0] == "64 members placed in 36 s (CPU 1, GPU 0.25 each); living generation 1/50"
    assert lines[3] == "generation 3/50 | fitness best 72% median 53% (chance 20% for 5-way) | 11.2 s/gen | ETA 9 min"
    assert lines[4] == "generation 50/50 | fitness best 100% median 53% (chance 20% for 5-way) | 11.2 s/gen | done"
    assert all(GENERATION_LINE.fullmatch(line) for line in lines[1:])


def test_resume_line_names_the_differences_force_accepted():
    out = io.StringIO()
    Progress(out).resuming(2, 10, [("evolution.generations", 6, 10), ("lifetime.lr", 0.05, 0.02)])
    Progress(out).resuming(6, 6, [])
    assert out.getvalue().splitlines() == [
        "resuming at generation 3/10 (accepted with --force: evolution.generations 6 -> 10, lifetime.lr 0.05 -> 0.02)",
        "resuming: all 6 generations done, choosing the final learngene",
    ]


def test_episode_counter_with_eta_and_quiet():
    now = [0.0]
    out = io.StringIO()
    count = Progress(out, clock=lambda: now[0]).counter("evaluate", "episodes", interval_s=10)
    for done, at in ((0, 0.0), (10, 5.0), (20, 10.0), (30, 12.0), (40, 16.0)):
        now[0] = at
        count(done, 40)
    assert out.getvalue().splitlines() == [
        "evaluate: 0/40 episodes",
        "evaluate: 20/40 episodes | 0.5 s/episode | ETA 10 s",
        "evaluate: 40/40 episodes | 0.4 s/episode",
    ]
    Progress.quiet().counter("evaluate", "episodes")(1, 1)  # writes nowhere, raises nothing


def test_an_evolution_and_its_resume_report_progress(resumed_run):
    _, _, _, first, resumed = resumed_run
    assert re.fullmatch(r"4 members placed in \d+(\.\d)? (s|min) \(CPU 0\.5 each\); living generation 1/2", first[0])
    assert [GENERATION_LINE.fullmatch(line).group(1, 2) for line in first[1:]] == [("1", "2"), ("2", "2")]
    assert resumed[0] == "resuming at generation 3/3 (accepted with --force: evolution.generations 2 -> 3)"
    assert resumed[1].endswith("living generation 3/3")
    assert [GENERATION_LINE.fullmatch(line).group(1, 2) for line in resumed[2:]] == [("3", "3")]


def test_quiet_tune_restores_what_it_changed(monkeypatch):
    import logging
    import os

    from gtl_ray.service.tune_progress import quiet_tune

    monkeypatch.setenv("RAY_AIR_NEW_OUTPUT", "1")
    tune_logger = logging.getLogger("ray.tune")
    level = tune_logger.level
    with quiet_tune():
        assert os.environ["RAY_AIR_NEW_OUTPUT"] == "0" and tune_logger.getEffectiveLevel() >= logging.WARNING
    assert os.environ["RAY_AIR_NEW_OUTPUT"] == "1" and tune_logger.level == level


def test_tunes_reports_on_saving_its_own_state_are_held_back(tmp_path):
    """While Tune runs, what it logs about saving its own state (with a traceback when the run's
    storage fails) is not shown; the first failure is kept for one line of our own."""
    import logging

    from gtl_ray.service.tune_progress import TuneStateReports, quiet_tune

    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    loggers = [logging.getLogger(name) for name in TuneStateReports.LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with quiet_tune() as reports:
            full = OSError(28, "No space left on device")
            loggers[0].error("Saving experiment state to storage at 'x' failed with exception: ", exc_info=full)
            loggers[1].warning("Last sync command failed with the following error: ...")
        loggers[1].warning("shown again once Tune is done")
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    assert seen == ["shown again once Tune is done"]
    assert reports.failure.startswith("Saving experiment state") and "No space left on device" in reports.failure


# ---------------------------------------------------------------- TensorBoard


def test_tensorboard_steps_are_generations_across_a_resume(resumed_run):
    config, _, store, _, _ = resumed_run
    G = config.evolution.generations
    figures = scalars(store.layout.tensorboard_dir)
    assert {
        "fitness/min",
        "fitness/median",
        "fitness/max",
        "fitness/mean",
        "time/wall_s",
        "time/checkpoint_s",
        "sample_grads/lifetime",
        "histogram:fitness/members",
    } <= set(figures)
    for tag, events in figures.items():
        assert [e.step for e in events] == list(range(G)), tag  # 0..G-1, none twice
    last = dataclasses.asdict(store.read_manifest().generations[-1])
    assert figures["fitness/max"][-1].value == pytest.approx(last["fitness"]["max"])
    assert figures["sample_grads/lifetime"][-1].value == last["sample_grads"]["lifetime"] > 0
    assert figures["time/checkpoint_s"][-1].value > 0  # written after the last checkpoint
    # Tune's per-member curves step by generation too: generations 0-1, then 2 after the resume.
    members = sorted(Path(store.run_dir).glob("tune-from-*/member-*"))
    assert [str(m.relative_to(store.run_dir)) for m in members] == [
        f"tune-from-{g:04d}/member-{m:04d}" for g in (0, 2) for m in range(config.population.size)
    ]  # named by member, not Tune's MemberTrainable_<id>_<index>_member=<m>_<date>
    steps = {str(m.relative_to(store.run_dir)): [e.step for e in scalars(m)["ray/tune/fitness"]] for m in members}
    assert steps == {
        f"tune-from-{g:04d}/member-{m:04d}": steps for g, steps in ((0, [0, 1]), (2, [2])) for m in range(4)
    }
    assert not any(tag.startswith("ray/tune/population") for m in members for tag in scalars(m))
    assert not any(hparams_sessions(m) for m in members)  # a member's trial config is no hyperparameter


def hparams_sessions(directory: str | Path) -> dict[str, object]:
    """The HParams plugin's records in a TensorBoard run folder, parsed as TensorBoard does."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    accumulator = EventAccumulator(str(directory))
    accumulator.Reload()
    try:
        contents = accumulator.PluginTagToContent("hparams")
    except KeyError:  # no HParams records in this folder
        contents = {}
    return {tag: plugin_data_pb2.HParamsPluginData.FromString(content) for tag, content in contents.items()}


def test_a_run_has_an_hparams_session_of_its_config_and_final_fitness(resumed_run):
    config, _, store, _, _ = resumed_run
    folder = Path(store.layout.tensorboard_dir) / "hparams"
    records = hparams_sessions(folder)
    start = records["_hparams_/session_start_info"].session_start_info.hparams
    assert start["evolution.generations"].number_value == config.evolution.generations == 3
    assert start["evolution.inheritance"].string_value == config.evolution.inheritance
    assert start["lifetime.shared_environment"].bool_value is False and "storage" not in start
    experiment = records["_hparams_/experiment"].experiment
    assert {m.name.tag for m in experiment.metric_infos} == {"final/fitness_best", "final/fitness_median"}
    last = store.read_manifest().generations[-1].fitness
    figures = scalars(folder)
    assert figures["final/fitness_best"][-1].value == pytest.approx(last["max"])
    assert figures["final/fitness_median"][-1].step == config.evolution.generations - 1


def test_board_sync_writes_missing_generations_and_drops_extra(tmp_path):
    board = PopulationBoard(str(tmp_path / "tensorboard"))
    summaries = [GenerationSummary(**summary(g)) for g in range(3)]
    board.write(summaries[0])
    board.write(summaries[0])  # written again: replaced, not added
    board.write(GenerationSummary(**summary(5)))  # past the manifest: removed by sync
    board.sync(summaries, [])
    assert board.generations() == [0, 1, 2] and (tmp_path / "tensorboard" / event_file_name(2)).is_file()
    assert [e.step for e in scalars(tmp_path / "tensorboard")["fitness/max"]] == [0, 1, 2]


def test_board_failures_are_logged_not_raised(tmp_path, caplog):
    (tmp_path / "file").write_text("not a folder")
    board = PopulationBoard(str(tmp_path / "file" / "tensorboard"))
    board.write(GenerationSummary(**summary(0)))
    board.sync([GenerationSummary(**summary(0))], [])
    assert "TensorBoard figures of generation 0 not written" in caplog.text


# ---------------------------------------------------------------- metrics and Grafana


def test_grafana_dashboard_plots_every_exported_metric():
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels) and all(
        {"title", "type", "gridPos", "targets"} <= set(p) for p in panels
    )
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bray_gtl_[a-z_]+", expr)}
    assert used == {exported_name(n) for n in METRICS}
    assert all('run=~"$run"' in expr for expr in exprs)
    assert all(p["datasource"]["uid"] == "${datasource}" for p in panels)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert (
        variables["datasource"]["query"] == "prometheus"
        and "ray_gtl_generations_completed" in variables["run"]["query"]["query"]
    )


def test_the_docs_name_the_exported_metrics():
    monitoring = (REPO / "docs" / "monitoring.md").read_text()
    assert all(exported_name(n) in monitoring for n in METRICS)
    readme = (REPO / "README.md").read_text()
    assert "RUN/tensorboard/" in readme and "cluster/grafana/gtl-ray-dashboard.json" in readme
    assert "ray metrics launch-prometheus" in readme and "--address auto" in readme and "(docs/monitoring.md)" in readme


def test_chance_is_that_of_the_tasks_fitness_is_measured_on():
    assert chance_note(load_config(None, ["lifetime.n_way=10"])) == "chance 10% for 10-way"
    descendant = load_config(None, ["evolution.fitness=descendant", "evaluation.n_way=4", "lifetime.n_way=10"])
    assert chance_note(descendant) == "chance 25% for 4-way"
    assert chance_note(descendant.to_dict()) == "chance 25% for 4-way"  # a manifest's config
