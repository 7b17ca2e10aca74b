"""Bad input through the `gtl-ray` command line: every refusal is exit code 2 with one line
`gtl-ray: error: ...` naming the culprit, no traceback, and nothing written (no run folder).

Config values are checked key by key in tests/config/test_reading.py and data sources in tests/data/test_cifar.py;
here the same mistakes go through `gtl-ray evolve / evaluate / descend / inspect`, end to end.
"""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from gtl_ray import create_model, extract_learngene
from gtl_ray.cli import _message, main
from tests.conftest import tiny_overrides
from tests.helpers import GTL_RAY, OwnSession, store_run, subprocess_env, write_config


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse: unknown command or flag
        code = exc.code
    return code, capsys.readouterr().err


def assert_refused(code: int, err: str, *names: str) -> str:
    """Exit 2, exactly one `gtl-ray: error:` line naming every one of `names`, no traceback."""
    errors = [line for line in err.splitlines() if line.startswith("gtl-ray: error:")]
    assert code == 2, err
    assert len(errors) == 1 and "Traceback" not in err, err
    for name in names:
        assert name in errors[0], errors[0]
    return errors[0]


def nothing_written(storage: Path) -> bool:
    return not storage.exists() or not any(storage.iterdir())


@pytest.fixture
def config_file(tmp_path):
    return write_config(tmp_path / "config.yaml", tmp_path / "runs", "bad")


# ---------------------------------------------------------------- configs


@pytest.mark.parametrize(
    "override,names",
    [
        ("model.bogus=1", ["unknown key model.bogus", "arch, depth, width"]),
        ("bogus=1", ["unknown key bogus"]),
        ("population.size=four", ["population.size", "expected an integer"]),
        ("model.width=yes", ["model.width", "expected a number"]),
        ("lifetime.lr=[0.1]", ["lifetime.lr", "expected a number"]),
        ("population.size=0", ["population.size", ">= 1"]),
        ("evolution.generations=0", ["evolution.generations", ">= 1"]),
        ("lifetime.train_per_class=-3", ["lifetime.train_per_class", ">= 1"]),
        ("population.cpus_per_member=0", ["population.cpus_per_member", "> 0"]),
        ("population.gpus_per_member=-1", ["population.gpus_per_member", ">= 0"]),
        ("data.images_per_class=0", ["data.images_per_class"]),
        ("learngene.share=0", ["learngene.share", "(0, 1)"]),
        ("learngene.share=1", ["learngene.share", "(0, 1)"]),
        ("learngene.share=1.5", ["learngene.share", "(0, 1)"]),
        ("evolution.tournament_size=5", ["evolution.tournament_size", "population.size (4)"]),
        ("evolution.elites=4", ["evolution.elites", "population.size (4)"]),
        ("lifetime.n_way=21", ["lifetime.n_way", "data.splits.base has only 20"]),
        ("evaluation.n_way=11", ["evaluation.n_way", "data.splits.novel has only 10"]),
        ("model.arch=vgg99", ["model.arch", "'vgg99'", "resnet12", "vgg11"]),
        ("evaluation.descendant.arch=alexnet", ["evaluation.descendant.arch", "'alexnet'"]),
        ("model.depth=12", ["model.depth", "12"]),
        ("data.image_size=16", ["data.image_size", "model.arch=vgg11"]),
        ("data.format=imagenet", ["data.format", "'imagenet'"]),
    ],
)
def test_bad_config_values_are_refused_before_anything_is_written(capsys, config_file, tmp_path, override, names):
    storage = tmp_path / "runs"
    assert_refused(*run_cli(capsys, "evolve", config_file, "--storage", storage, "--set", override), *names)
    assert nothing_written(storage)


def test_bad_config_files(capsys, tmp_path):
    (tmp_path / "list.yaml").write_text("- 1\n")
    (tmp_path / "broken.yaml").write_text("model: {arch: vgg11\n")
    assert_refused(*run_cli(capsys, "evolve", tmp_path / "missing.yaml"), "config file not found", "missing.yaml")
    assert_refused(*run_cli(capsys, "validate", tmp_path / "list.yaml"), "top level must be a mapping")
    assert_refused(*run_cli(capsys, "validate", tmp_path / "broken.yaml"), "broken.yaml", "not valid YAML")
    (tmp_path / "empty.yaml").write_text("")
    assert_refused(*run_cli(capsys, "validate", tmp_path / "empty.yaml", "--set", "nokey"), "--set expects key=value")


def test_gpu_request_no_node_can_hold_fails_before_the_local_ray_starts(tmp_path):
    """population.gpus_per_member=2 with `--address local` on this machine (no GPU): refused
    before Ray starts, instead of starting one that could never hold a member."""
    storage = tmp_path / "runs"
    path = write_config(tmp_path / "config.yaml", storage, "gpus")
    with OwnSession(
        [
            GTL_RAY,
            "evolve",
            str(path),
            "--storage",
            str(storage),
            "--set",
            "population.gpus_per_member=2",
            "--address",
            "local",
        ],
        tmp_path / "gpu.log",
        subprocess_env(),
    ) as run:
        code = run.proc.wait(180)
        err = run.log.read_text()
    line = assert_refused(
        code, err, "population.gpus_per_member=2", "no node can hold one member", "GPU 0", "local Ray"
    )
    assert "'GPU': 2.0" in line
    assert "Started a local Ray instance" not in err and "ray.init" not in err
    assert nothing_written(storage)


def test_gpu_request_no_node_of_a_running_ray_can_hold_fails_fast(ray_session, tmp_path, capsys):
    """5 GPUs a member against the session's Ray, whose one node has 4: refused at once."""
    storage = tmp_path / "runs"
    path = write_config(tmp_path / "config.yaml", storage, "gpus", "population.gpus_per_member=5")
    code = main(["evolve", str(path), "--storage", str(storage)])
    line = assert_refused(
        code, capsys.readouterr().err, "population.gpus_per_member=5", "no node can hold one member", "GPU 4/4"
    )
    assert "'GPU': 5.0" in line
    assert nothing_written(storage)


def test_population_larger_than_the_local_ray_fails_fast(ray_session, tmp_path, capsys):
    """16 one-CPU members against the session's 4-CPU local Ray (no autoscaler): one member fits
    a node, but a generation needs all 16 at once, so it could never complete."""
    storage = tmp_path / "runs"
    path = write_config(
        tmp_path / "config.yaml", storage, "too-big", "population.size=16", "population.cpus_per_member=1"
    )
    code = main(["evolve", str(path), "--storage", str(storage)])
    line = assert_refused(code, capsys.readouterr().err, "population.size=16", "CPU 16", "CPU 4")
    assert "population.cpus_per_member" in line
    assert nothing_written(storage)


# ---------------------------------------------------------------- data


def png(rng: np.random.Generator, size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(out, format="PNG")
    return out.getvalue()


def write_parquet(
    path: Path, per_class: dict[str, int], image_column: str = "image", broken_row: int | None = None
) -> Path:
    rng = np.random.default_rng(0)
    labels = [name for name, count in per_class.items() for _ in range(count)]
    images = [b"\x89PNG but not really" if i == broken_row else png(rng) for i in range(len(labels))]
    pq.write_table(pa.table({image_column: images, "label": labels}), path)
    return path


@pytest.fixture
def parquet_data(tmp_path):
    """A valid Parquet data set for the tiny config: 5 base classes x 15 images, 5 novel x 6."""
    data = tmp_path / "data"
    data.mkdir()
    write_parquet(data / "base.parquet", {f"b{i}": 15 for i in range(5)})
    write_parquet(data / "novel.parquet", {f"n{i}": 6 for i in range(5)})
    return data


def parquet_args(data: Path, base: str = "base.parquet", **columns: str) -> list[str]:
    sets = ["data.format=parquet", f"data.path={data}", f"data.splits={{base: {base}, val: 0, novel: novel.parquet}}"]
    sets += [f"data.{key}={value}" for key, value in columns.items()]
    return [arg for item in sets for arg in ("--set", item)]


def test_parquet_data_set_is_usable(parquet_data):
    """The fixture itself passes the checks evolve makes before starting Ray."""
    from gtl_ray.data import load_splits
    from gtl_ray.preflight import load_config
    from gtl_ray.preflight.data_fit import check_environments

    config = load_config(
        None, [s for s in tiny_overrides() if not s.startswith("data.")] + parquet_args(parquet_data)[1::2]
    )
    check_environments(config, load_splits(config.data).base)


@pytest.mark.parametrize(
    "case,names",
    [
        ("missing_file", ["data.splits.base", "nowhere.parquet", "not found"]),
        ("misnamed_column", ["no column 'image'", "picture", "renamed.parquet"]),
        ("unreadable_image", ["cannot decode image", "broken.parquet row 7"]),
        ("too_few_images", ["lifetime.train_per_class=10", "class 'b2'", "has 3 images", "15 are needed"]),
        ("too_few_classes", ["lifetime.n_way=5", "5-way", "4"]),
    ],
)
def test_bad_data_is_refused_before_ray_starts(capsys, config_file, parquet_data, tmp_path, case, names):
    storage = tmp_path / "runs"
    args = {
        "missing_file": parquet_args(parquet_data, base="nowhere.parquet"),
        "misnamed_column": parquet_args(
            parquet_data,
            base=str(
                write_parquet(parquet_data / "renamed.parquet", {f"b{i}": 15 for i in range(5)}, image_column="picture")
            ),
        ),
        "unreadable_image": parquet_args(
            parquet_data,
            base=str(write_parquet(parquet_data / "broken.parquet", {f"b{i}": 15 for i in range(5)}, broken_row=7)),
        ),
        "too_few_images": parquet_args(
            parquet_data,
            base=str(write_parquet(parquet_data / "small.parquet", {"b0": 15, "b1": 15, "b2": 3, "b3": 15, "b4": 15})),
        ),
        "too_few_classes": parquet_args(
            parquet_data, base=str(write_parquet(parquet_data / "four.parquet", {f"b{i}": 15 for i in range(4)}))
        ),
    }[case]
    assert_refused(*run_cli(capsys, "evolve", config_file, "--storage", storage, *args), *names)
    assert nothing_written(storage)


def test_a_class_missing_from_the_data_is_named(capsys, config_file, tmp_path):
    data = tmp_path / "folder"
    rng = np.random.default_rng(0)
    for c in range(10):
        (data / f"c{c}").mkdir(parents=True)
        (data / f"c{c}" / "0.png").write_bytes(png(rng))
    splits = "data.splits={base: [c0, c1, c2, c3, zebra], val: 0, novel: [c5, c6, c7, c8, c9]}"
    storage = tmp_path / "runs"
    args = ["--set", "data.format=folder", "--set", f"data.path={data}", "--set", splits]
    assert_refused(
        *run_cli(capsys, "evolve", config_file, "--storage", storage, *args), "data.splits.base", "'zebra'", "not found"
    )
    assert nothing_written(storage)


# ---------------------------------------------------------------- learngene files


@pytest.fixture
def genes(tmp_path):
    """A good learngene for the tiny config (VGG11 width 0.125), and bad ones."""
    good = extract_learngene(create_model("vgg11", width=0.125))
    paths = {"good": tmp_path / "good.safetensors", "resnet": tmp_path / "resnet.safetensors"}
    good.save(str(paths["good"]))
    extract_learngene(create_model("resnet12", width=0.125)).save(str(paths["resnet"]))
    data = paths["good"].read_bytes()
    paths["truncated"] = tmp_path / "truncated.safetensors"
    paths["truncated"].write_bytes(data[: len(data) // 2])
    paths["edited"] = tmp_path / "edited.safetensors"
    paths["edited"].write_bytes(data[:-4] + bytes(b ^ 0xFF for b in data[-4:]))  # last tensor bytes changed
    return paths


class _Trap:
    """Unpickling this creates `marker` (what a malicious pickle could do)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize(
    "kind,names",
    [
        ("truncated", ["truncated.safetensors", "truncated"]),
        ("edited", ["edited.safetensors", "checksum mismatch"]),
        ("pickle", ["gene.pkl", "not a gtl_ray learngene"]),
        ("torch", ["gene.pt", "not a gtl_ray learngene"]),
    ],
)
def test_corrupt_or_foreign_learngene_files_are_refused(capsys, genes, tmp_path, kind, names):
    marker = tmp_path / "unpickled"
    if kind == "pickle":
        genes[kind] = tmp_path / "gene.pkl"
        genes[kind].write_bytes(pickle.dumps({"conv.weight": _Trap(marker)}))
    if kind == "torch":
        import torch

        genes[kind] = tmp_path / "gene.pt"
        torch.save({"w": torch.zeros(2), "trap": _Trap(marker)}, genes[kind])
    assert_refused(*run_cli(capsys, "inspect", genes[kind]), *names)
    config = write_config(tmp_path / "config.yaml", tmp_path / "runs", "genes")
    assert_refused(*run_cli(capsys, "evaluate", config, "--learngene", genes[kind], "--methods", "learngene"), *names)
    assert not marker.exists()  # never unpickled
    assert nothing_written(tmp_path / "runs")


@pytest.mark.parametrize("command", ["evaluate", "descend"])
def test_learngene_of_another_architecture_is_refused_before_ray(capsys, genes, tmp_path, command):
    config = write_config(tmp_path / "config.yaml", tmp_path / "runs", "genes")
    extra = ["--methods", "learngene"] if command == "evaluate" else []
    line = assert_refused(
        *run_cli(capsys, command, config, "--learngene", genes["resnet"], *extra),
        "resnet.safetensors",
        "resnet12",
        "vgg",
    )
    assert "cannot go into" in line
    assert nothing_written(tmp_path / "runs")


def test_learngene_too_wide_for_a_narrower_descendant_is_refused(capsys, tmp_path):
    wide = tmp_path / "wide.safetensors"
    extract_learngene(create_model("vgg11", width=0.5)).save(str(wide))
    config = write_config(tmp_path / "config.yaml", tmp_path / "runs", "genes")
    assert_refused(
        *run_cli(capsys, "descend", config, "--learngene", wide),
        "wide.safetensors",
        "features.stages.0.0",
        "does not fit",
    )
    assert nothing_written(tmp_path / "runs")


def test_an_error_raised_inside_a_ray_task_is_shown_as_one_line(ray_session):
    from gtl_ray.errors import LearngeneError

    @ray_session.remote
    def fail():
        raise LearngeneError("x.safetensors: checksum mismatch")

    with pytest.raises(LearngeneError) as info:  # Ray re-raises it as RayTaskError(LearngeneError)
        ray_session.get(fail.remote())
    assert "\n" in str(info.value) and _message(info.value) == "x.safetensors: checksum mismatch"


# ---------------------------------------------------------------- command line and storage


@pytest.mark.parametrize(
    "argv,names",
    [
        (["fly"], ["invalid choice: 'fly'"]),
        (["evolve", "CONFIG", "--bogus"], ["unrecognized arguments: --bogus"]),
        (["inspect"], ["required: target"]),  # evolve without a config: see test_run_folder_commands_...
        (["--storage", "x"], ["COMMAND"]),
    ],
)
def test_unknown_command_and_flag(capsys, config_file, argv, names):
    """argparse's own refusals: exit 2, its usage, then one `gtl-ray ...: error:` line."""
    code, err = run_cli(capsys, *[str(config_file) if a == "CONFIG" else a for a in argv])
    lines = err.strip().splitlines()
    assert code == 2 and lines[0].startswith("usage: gtl-ray") and "Traceback" not in err, err
    assert lines[-1].startswith("gtl-ray") and ": error: " in lines[-1] and all(n in lines[-1] for n in names), err


@pytest.mark.parametrize("command", ["validate", "evolve"])
def test_unsupported_storage_scheme(capsys, config_file, command):
    assert_refused(
        *run_cli(capsys, command, config_file, "--storage", "ftp://example.com/runs"),
        "'ftp'",
        "ftp://example.com/runs",
        "s3://",
    )


def test_resume_of_a_run_that_does_not_exist(capsys, config_file, tmp_path):
    storage = tmp_path / "runs"
    assert_refused(
        *run_cli(capsys, "evolve", config_file, "--storage", storage, "--resume"),
        "no run at",
        str(storage / "bad"),
        "without --resume",
    )
    assert nothing_written(storage)


@pytest.fixture
def stored_run(tmp_path):
    """A complete one-generation run written by the service's own RunStore (no Ray needed)."""
    return store_run(tmp_path)


def test_resume_with_a_changed_config_is_refused_naming_the_fields_unless_forced(capsys, stored_run):
    path, store = stored_run
    before = sorted(p.relative_to(store.run_dir) for p in Path(store.run_dir).rglob("*"))
    manifest = Path(store.path("manifest.json")).read_bytes()
    changed = ["--set", "evolution.mutation_rate=0.3", "--set", "lifetime.lr=0.1"]
    line = assert_refused(
        *run_cli(capsys, "evolve", path, "--resume", *changed), "lifetime.lr", "evolution.mutation_rate", "--force"
    )
    assert "cannot resume" in line
    assert sorted(p.relative_to(store.run_dir) for p in Path(store.run_dir).rglob("*")) == before
    assert Path(store.path("manifest.json")).read_bytes() == manifest
    capsys.readouterr()
    assert main(["evolve", str(path), "--resume", "--force", *changed, "--json"]) == 0  # complete: nothing left to run
    assert json.loads(capsys.readouterr().out)["generations_completed"] == 1
    # What a failed run prints to go on: the stored config (the --force changes included), no config or --set.
    from gtl_ray.run.resume import resume_command

    hint = resume_command(str(path), store, store.exists())
    assert hint == f"gtl-ray evolve --resume --storage {store.root} --name {store.name}"
    assert main([*hint.split()[1:], "--json"]) == 0 and "lifetime.lr" not in capsys.readouterr().err
    fresh = resume_command(str(path), type(store)(store.root, "never-started"), False)
    assert fresh.startswith(f"gtl-ray evolve {path} --storage") and "nothing was checkpointed" in fresh


def test_run_folder_commands_refuse_what_is_no_run_in_one_line(capsys, stored_run, tmp_path):
    """A folder that is no run, a missing config, a run without its final gene: exit 2 naming it."""
    path, store = stored_run
    assert_refused(*run_cli(capsys, "evaluate", tmp_path), str(tmp_path), "a folder without manifest.json")
    assert_refused(*run_cli(capsys, "evolve", "--resume"), "no config", "--storage S --name N")
    absent = tmp_path / "elsewhere"
    assert_refused(*run_cli(capsys, "evolve", "--resume", "--storage", absent, "--name", "x"), "no run at", str(absent))
    assert nothing_written(absent)
    manifest = json.loads(Path(store.path("manifest.json")).read_text())
    Path(store.path("manifest.json")).write_text(json.dumps(dict(manifest, final=None)))  # as if still running
    for argv in (["evaluate", store.run_dir, "--methods", "learngene"], ["descend", store.run_dir]):
        assert_refused(*run_cli(capsys, *argv), store.run_dir, "no final learngene yet")
    line = assert_refused(*run_cli(capsys, "descend", path, "--learngene", store.run_dir), "no final learngene yet")
    assert store.run_dir in line
    assert_refused(*run_cli(capsys, "config", store.run_dir, "--set", "lifetime.lr=-1"), "lifetime.lr")


# ---------------------------------------------------------------- the fine-tuning recipe


@pytest.mark.parametrize(
    "override,names",
    [
        ("evolution.recipe={lr: [0.1, 0.01]}", ["evolution.recipe.lr", "0 < low < high"]),
        ("evolution.recipe={bogus: [1, 2]}", ["evolution.recipe", "'bogus'", "lifetime_lr"]),
        ("evolution.recipe={steps: [5, 9]}", ["evolution.recipe", "never scores", "evolution.fitness=descendant"]),
        ("evolution.recipe_resample=2", ["evolution.recipe_resample", "[0, 1]"]),
    ],
)
def test_a_bad_recipe_space_is_refused_before_anything_is_written(capsys, config_file, tmp_path, override, names):
    storage = tmp_path / "runs"
    assert_refused(*run_cli(capsys, "evolve", config_file, "--storage", storage, "--set", override), *names)
    assert nothing_written(storage)


@pytest.mark.parametrize("command", ["evaluate", "descend"])
def test_a_gene_without_a_recipe_is_refused_when_its_recipe_is_asked_for(capsys, genes, tmp_path, command):
    config = write_config(tmp_path / "config.yaml", tmp_path / "runs", "genes", "evaluation.recipe=gene")
    extra = ["--methods", "learngene"] if command == "evaluate" else []
    line = assert_refused(
        *run_cli(capsys, command, config, "--learngene", genes["good"], *extra), "good.safetensors", "carries no recipe"
    )
    assert "evaluation.recipe=gene" in line and nothing_written(tmp_path / "runs")
