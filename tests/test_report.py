"""`gtl-ray report`: one offline HTML page with the fitness curve, the family tree of the final
learngene, per-generation timing and evaluation tables, for a real (tiny) run on Ray."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from gtl_ray.cli import main
from gtl_ray.inspection import inspect_run
from gtl_ray.report import accuracy_table, write_report

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tiny_run) -> str:
    return tiny_run[1].run_dir


def rows(shots=(1, 5)):
    return [{"method": m, "n_way": 5, "shots": s, "mean": 0.4 + 0.1 * i, "ci95": 0.02, "episodes": 4, "instinct_mean": 0.3, "instinct_ci95": 0.01} for s in shots for i, m in enumerate(["scratch", "learngene"])]


def test_report_shows_curve_family_tree_and_timing(run_dir, tmp_path):
    out = tmp_path / "out"
    html = Path(write_report(run_dir, str(out))).read_text()
    for name, alt in (("fitness.png", "fitness curve"), ("family.png", "family tree"), ("timing.png", "generation timing")):
        assert (out / name).read_bytes().startswith(PNG)
        assert f'alt="{alt}" data-file="{name}" src="data:image/png;base64,' in html
    chain = inspect_run(run_dir)["final_lineage"]
    assert len(chain) == 3 and all(f"<td>{r['id']}</td>" in html for r in chain)
    assert "Family tree of the final learngene" in html and "random gene" in html
    assert "Timing per generation" in html and "lifetime_max (s)" in html and "overhead share" in html
    assert html.count("<tr>") >= 1 + 3 + 1 + 3 + 1 + 3  # curve, family line and timing tables
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from the network
    assert "No evaluation found" in html and "--out" in html


def test_default_location_and_evaluation_tables(run_dir):
    evaluation = Path(run_dir, "evaluation.json")
    paired = [{"method": "learngene", "versus": "scratch", "shots": 5, "mean": 0.1, "ci95": 0.03, "episodes": 4}]  # as `evaluate --out` writes it
    evaluation.write_text(json.dumps({"results": rows(), "scalability": [dict(r, variant="wider x2") for r in rows((5,))], "paired": paired}))
    try:
        path = write_report(run_dir)
    finally:
        evaluation.unlink()
    assert path == str(Path(run_dir, "report", "report.html"))
    html = Path(path).read_text()
    assert "5-way 1-shot" in html and "5-way 5-shot" in html and "50.00 ± 2.00" in html and "wider x2" in html
    assert "<td>learngene - scratch</td><td>+10.00 ± 3.00</td>" in html


def test_cli_report_and_a_run_without_final_gene(run_dir, tmp_path, capsys):
    assert main(["report", run_dir, "--out", str(tmp_path / "cli")]) == 0
    assert "report written to" in capsys.readouterr().out and (tmp_path / "cli" / "report.html").exists()
    partial = tmp_path / "partial"
    shutil.copytree(run_dir, partial)
    manifest = json.loads((partial / "manifest.json").read_text())
    manifest["final"] = None
    (partial / "manifest.json").write_text(json.dumps(manifest))
    assert "no final learngene yet" in Path(write_report(str(partial))).read_text()


def test_accuracy_table_pivots_shots_and_extra_keys():
    head, body = accuracy_table([dict(r, share=0.2) for r in rows()], ("share",))
    assert head == ["share", "method", "5-way 1-shot", "5-way 5-shot", "instinct 1-shot", "instinct 5-shot"]
    assert body[1] == ["0.200", "learngene", "50.00 ± 2.00", "50.00 ± 2.00", "30.00 ± 1.00", "30.00 ± 1.00"]
