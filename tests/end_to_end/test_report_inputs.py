"""`gtl-ray report` and `inspect` on hostile inputs, without Ray: every value from a file is
HTML-escaped, the evaluation JSON is parsed into typed rows (gtl_ray.evaluation.results_file) before
anything is written, `--out` must be a folder, and a swapped final learngene is noticed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from gtl_ray import create_model, extract_learngene
from gtl_ray.errors import EvaluationFileError
from gtl_ray.evaluation.results_file import parse_evaluation
from gtl_ray.report import write_report
from tests.end_to_end.test_bad_input import assert_refused, run_cli
from tests.helpers import store_run

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    return store_run(tmp_path_factory.mktemp("report-inputs"))[1]


@pytest.fixture
def run(stored, tmp_path) -> Path:
    """A private copy of the stored run."""
    return Path(shutil.copytree(stored.run_dir, tmp_path / "run"))


def row(**changes):
    return {
        "method": "learngene",
        "n_way": 5,
        "shots": 1,
        "mean": 0.5,
        "ci95": 0.02,
        "episodes": 4,
        "instinct_mean": 0.3,
        "instinct_ci95": 0.01,
        **changes,
    }


def test_values_from_files_are_escaped(run):
    manifest = json.loads((run / "manifest.json").read_text())
    manifest.update(name=SCRIPT)  # numbers are typed: a script there is refused (test_manifest_fields_are_typed)
    manifest["config"]["data"]["path"] = SCRIPT
    manifest["config"]["model"]["arch"] = SCRIPT
    (run / "manifest.json").write_text(json.dumps(manifest))
    evaluation = {
        "results": [row(method=SCRIPT)],
        SCRIPT: [row(variant=SCRIPT, method="scratch")],
        "machine": {"cpu": SCRIPT},
    }
    (run / "evaluation.json").write_text(json.dumps(evaluation))
    page = Path(write_report(str(run), str(run / "out"))).read_text()
    assert "<script" not in page.lower() and page.count("&lt;script&gt;") >= 5, page


def test_manifest_fields_are_typed(run):
    from gtl_ray.errors import StorageError

    manifest = json.loads((run / "manifest.json").read_text())
    manifest.update(seed=SCRIPT)
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StorageError, match="field 'seed' must be an integer"):
        write_report(str(run), str(run / "out"))
    assert not (run / "out").exists()


@pytest.mark.parametrize(
    "content,names",
    [
        ("{not json", ["evaluation.json", "not valid JSON"]),
        (json.dumps([row()]), ["evaluation.json", "JSON object of sections"]),
        (json.dumps({"results": [row(mean="high")]}), ["section 'results' row 0", "'mean'"]),
        (json.dumps({"results": [row(), row(mean=1.5)]}), ["row 1", "'mean'", "[0, 1]"]),
        ('{"results": [{"method": "x", "mean": NaN}]}', ["NaN"]),
        (json.dumps({"results": [row(shots=True)]}), ["'shots'"]),
        (json.dumps({"results": [row(n_way=1)]}), ["'n_way'"]),
        (json.dumps({"results": [row(episodes=0)]}), ["'episodes'"]),
        (json.dumps({"results": [row(method=["a"])]}), ["'method'"]),
        (json.dumps({"results": [row(method="m" * 1000)]}), ["'method'"]),
        (json.dumps({"results": [row(), 7]}), ["row 1", "must be an object"]),
        (json.dumps({"results": [{k: v for k, v in row().items() if k != "ci95"}]}), ["'ci95' is missing"]),
        (json.dumps({"shares": [row(share="all")]}), ["section 'shares'", "'share'"]),
        (json.dumps({"results": [row(depth=1.5)]}), ["'depth'"]),
        ('{"results": [], "results": []}', ["duplicate key 'results'"]),
        ("[" * 10_000 + "]" * 10_000, ["evaluation.json", "nested"]),
        (b"\xff\xfe", ["evaluation.json", "not valid JSON"]),
    ],
)
def test_bad_evaluation_json_is_refused_before_anything_is_written(capsys, run, tmp_path, content, names):
    path = run / "evaluation.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "out"
    assert_refused(*run_cli(capsys, "report", run, "--out", out), *names)
    assert not out.exists()


def test_evaluation_json_that_is_a_fifo_or_too_big(capsys, run, tmp_path, monkeypatch):
    os.mkfifo(run / "evaluation.json")
    assert_refused(*run_cli(capsys, "report", run, "--out", tmp_path / "a"), "evaluation.json", "FIFO")
    (run / "evaluation.json").unlink()
    (run / "evaluation.json").write_text(json.dumps({"results": [row()] * 100}))
    monkeypatch.setenv("GTL_RAY_MAX_EVALUATION_BYTES", "100")
    assert_refused(
        *run_cli(capsys, "report", run, "--out", tmp_path / "b"), "evaluation.json", "limit for evaluation files"
    )
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_report_out_must_be_a_folder(capsys, run, tmp_path):
    (tmp_path / "file.html").write_text("mine")
    assert_refused(
        *run_cli(capsys, "report", run, "--out", tmp_path / "file.html"), "file.html", "is a file, not a folder"
    )
    assert (tmp_path / "file.html").read_text() == "mine"
    assert_refused(
        *run_cli(capsys, "report", run, "--out", tmp_path / "file.html" / "sub"), "file.html", "cannot write"
    )
    assert main_ok(capsys, "report", run, "--out", tmp_path / "fine")
    assert (tmp_path / "fine" / "report.html").exists() and (tmp_path / "fine" / "fitness.png").exists()


def main_ok(capsys, *argv) -> bool:
    code, err = run_cli(capsys, *argv)
    assert code == 0, err
    return True


def test_inspect_notices_a_final_gene_swapped_for_another_valid_gene(capsys, run):
    extract_learngene(create_model("vgg11", width=0.125)).save(str(run / "final" / "learngene.safetensors"))
    line = assert_refused(*run_cli(capsys, "inspect", run), "learngene.safetensors", "differs from the manifest")
    assert "sha256:" in line
    assert_refused(*run_cli(capsys, "report", run), "differs from the manifest")
    assert not (run / "report").exists()


def test_text_that_is_not_utf8_is_written_escaped(run):
    """JSON may hold lone surrogates ("\\ud800"): the page is still written, escaped."""
    (run / "evaluation.json").write_text('{"results": [' + json.dumps(row())[:-1] + ', "variant": "\\ud800x"}]}')
    page = Path(write_report(str(run), str(run / "out"))).read_bytes()
    assert b"\\ud800x" in page


def test_benchmark_sections_are_kept_and_others_skipped():
    sections = parse_evaluation(
        {
            "results": [row()],
            "scalability": [row(variant="wider x2", width=0.25, depth=None)],
            "curve": [{"min": 0.1}],
            "machine": {"cpu": "x"},
        },
        "e.json",
    )
    assert list(sections) == ["results", "scalability"]
    assert sections["scalability"][0]["variant"] == "wider x2" and "variant" not in sections["results"][0]
    with pytest.raises(EvaluationFileError, match="e.json: section 'results' row 0: field 'instinct_mean'"):
        parse_evaluation({"results": [row(instinct_mean=None)]}, "e.json")


def test_manifest_reads_are_bounded_too(capsys, run):
    """The manifest's schema keeps its paths inside the run (a `final` path pointing at
    /dev/zero is refused by name), and the manifest itself is read through the bounded reader
    (a FIFO fails at once instead of hanging)."""
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["final"]["learngene"] = "/dev/zero"
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert_refused(*run_cli(capsys, "inspect", run), "/dev/zero", "field 'final'", "final/learngene.safetensors")
    (run / "manifest.json").unlink()
    os.mkfifo(run / "manifest.json")
    assert_refused(*run_cli(capsys, "inspect", run), "manifest.json", "FIFO")
