"""`gtl-ray report`: one offline HTML page with the fitness curve, the family tree of the final
learngene, per-generation timing and evaluation tables, for a real (tiny) run on Ray."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from gtl_ray.cli import main
from gtl_ray.evolution.lineage import LineageRecord, ancestry, member_id, write_lineage
from gtl_ray.inspection import inspect_run
from gtl_ray.family_tree import family_figure
from gtl_ray.report import accuracy_table, write_report

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tiny_run) -> str:
    return tiny_run[1].run_dir


def rows(shots=(1, 5)):
    return [
        {
            "method": m,
            "n_way": 5,
            "shots": s,
            "mean": 0.4 + 0.1 * i,
            "ci95": 0.02,
            "episodes": 4,
            "instinct_mean": 0.3,
            "instinct_ci95": 0.01,
        }
        for s in shots
        for i, m in enumerate(["scratch", "learngene"])
    ]


def test_report_shows_curve_family_tree_and_timing(run_dir, tmp_path):
    out = tmp_path / "out"
    html = Path(write_report(run_dir, str(out))).read_text()
    for name, alt in (
        ("fitness.png", "fitness curve"),
        ("family.png", "family tree"),
        ("timing.png", "generation timing"),
    ):
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
    paired = [
        {"method": "learngene", "versus": "scratch", "shots": 5, "mean": 0.1, "ci95": 0.03, "episodes": 4}
    ]  # as `evaluate --out` writes it
    evaluation.write_text(
        json.dumps(
            {"results": rows(), "scalability": [dict(r, variant="wider x2") for r in rows((5,))], "paired": paired}
        )
    )
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


def synthetic_lineage(P: int, G: int, elites: int = 2, seed: int = 0) -> tuple[list[LineageRecord], str, list[str]]:
    """P x G lineage rows shaped like an evolution's: elites copied unchanged, the others the
    winners of 2-member tournaments, mutated (fitness drifts). Returns (rows, the last
    generation's fittest id, the next `elites` ids)."""
    rng = np.random.default_rng(seed)
    rows: list[LineageRecord] = []
    previous: list[LineageRecord] = []
    for g in range(G):
        ranked = sorted(previous, key=lambda r: -r.fitness)
        current = []
        for m in range(P):
            if not previous:
                parent, elite = None, False
            elif m < elites:
                parent, elite = ranked[m], True
            else:
                a, b = rng.choice(P, 2, replace=False)
                parent, elite = max(previous[a], previous[b], key=lambda r: r.fitness), False
            fitness = (
                0.2
                if parent is None
                else parent.fitness
                if elite
                else float(np.clip(0.002 + 0.995 * parent.fitness + rng.normal(0, 0.02), 0, 1))
            )
            current.append(
                LineageRecord(
                    g,
                    m,
                    member_id(g, m),
                    parent.id if parent else None,
                    elite,
                    "none" if elite else "gaussian",
                    0 if elite else 3,
                    [0, 1],
                    fitness,
                    1.0,
                    parent.gene_checksum if parent else None,
                    _checksum(f"c{g}-{m}"),
                    [],
                    fitness,
                    0,
                    0,
                )
            )
        rows += current
        previous = current
    last = sorted(previous, key=lambda r: -r.fitness)
    return rows, last[0].id, [r.id for r in last[1 : 1 + elites]]


def _checksum(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def fitness_summary(values: list[float]) -> dict[str, float]:
    """A generation's fitness figures as the manifest holds them."""
    return {"min": min(values), "median": float(np.median(values)), "max": max(values), "mean": float(np.mean(values))}


def synthetic_run(source: str, target: Path, P: int, G: int) -> tuple[list[LineageRecord], str, list[str]]:
    """A copy of a real run's folder whose manifest and lineage say P members x G generations."""
    rows, final, elites = synthetic_lineage(P, G)
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("tune-from-*", "generations", "tensorboard", "report")
    )
    manifest = json.loads((target / "manifest.json").read_text())
    timing = manifest["generations"][0]["timing"]
    manifest.update(population=P, generations_planned=G, generations_completed=G)
    manifest["generations"] = [
        {
            "generation": g,
            "fitness": fitness_summary([r.fitness for r in rows if r.generation == g]),
            "best_member": 0,
            "checksums": [_checksum(f"c{g}-{m}") for m in range(P)],
            "timing": timing,
            "sample_grads": {"lifetime": 1, "fitness": 0},
        }
        for g in range(G)
    ]
    manifest["state"] = {
        "generation": G,
        "parents": [],
        "assignments": [{"member": m, "parent": None, "elite": False} for m in range(P)],
        "hall_of_fame": [],
        "leaders": [],
    }
    manifest["final"].update(id=final, elite_ids=elites)
    (target / "manifest.json").write_text(json.dumps(manifest))
    write_lineage(str(target / "lineage.parquet"), rows)
    return rows, final, elites


def test_family_tree_is_readable_at_paper_scale(run_dir, tmp_path):
    P, G = 64, 50
    rows, final, elites = synthetic_run(run_dir, tmp_path / "big", P, G)
    assert main(["report", str(tmp_path / "big"), "--out", str(tmp_path / "out")]) == 0
    png = (tmp_path / "out" / "family.png").read_bytes()
    assert png.startswith(PNG) and struct.unpack(">II", png[16:24]) == (990, 682) and len(png) < 300_000
    html = (tmp_path / "out" / "report.html").read_text()
    assert f"<td>{final}</td>" in html

    chain = ancestry(rows, final)
    ax = family_figure(rows, {r.id for r in chain}, elites).axes[0]
    (line,) = [a for a in ax.lines if a.get_gid() == "line-of-descent"]
    rank = {
        r.id: sorted((x for x in rows if x.generation == r.generation), key=lambda x: (-x.fitness, x.member)).index(r)
        for r in chain
    }
    assert list(line.get_xdata()) == list(range(G)) and list(line.get_ydata()) == [rank[r.id] for r in reversed(chain)]
    (kin,) = [c for c in ax.collections if c.get_gid() == "elite-ancestry"]
    assert 0 < len(kin.get_segments()) <= len(elites) * (G - 1)  # elites' ancestry only, not P x G edges
    marks = [c for c in ax.collections if c.get_gid() == "descent-marks"]
    assert line.get_zorder() > max(kin.get_zorder(), ax.images[0].get_zorder()) and all(
        m.get_zorder() > line.get_zorder() for m in marks
    )  # on top
    assert sum(len(m.get_offsets()) for m in marks) == G
    assert ax.get_title() == "family tree: 64 members x 50 generations" and "fittest" in ax.get_ylabel()
