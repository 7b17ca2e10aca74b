"""The README's code runs, so the docs cannot rot: "Use a learngene in your own model" on the final
gene of a real tiny run (shaped like the quickstart: reptile write-back, generation 0 the narrow
network), the Python API's sweep over `learngene.share` on Ray at the tiny scale, and every config
fragment of docs/data.md ("Your own data") is a valid config."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def blocks(title: str, language: str, document: Path = README) -> list[str]:
    """The ```language blocks of the section `## title` or `### title` of `document` (up to the
    next heading of its level or above)."""
    text = document.read_text()
    match = re.search(rf"^(#{{2,3}}) {re.escape(title)}\n", text, re.M)
    assert match, f"{document.name} has no section {title!r}"
    ends = [m.start() for m in re.finditer(rf"^#{{2,{len(match.group(1))}}} ", text, re.M) if m.start() > match.start()]
    section = text[match.end() : ends[0] if ends else len(text)]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


def run_block(code: str) -> tuple[list[str], dict]:
    """Execute a README block; (its printed lines, its namespace)."""
    out = io.StringIO()
    namespace: dict = {"__name__": "readme"}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), namespace)
    return out.getvalue().splitlines(), namespace


def test_use_a_learngene_in_your_own_model_runs_on_a_real_runs_final_gene(tmp_path, monkeypatch):
    from gtl_ray.evolution import evolve_local
    from gtl_ray.run.store import RunStore
    from tests.conftest import tiny

    quickstart_like = ("evolution.inheritance=reptile", "evolution.init=narrow", "evolution.generations=2")
    config = tiny(*quickstart_like, storage=tmp_path / "runs", name="quickstart")
    evolve_local(config, store=RunStore(config.storage, config.name))  # what `make demo` leaves, at the tiny scale
    final = RunStore(config.storage, config.name).read_manifest().final
    monkeypatch.chdir(tmp_path)
    (code,) = blocks("Use a learngene in your own model", "python")
    printed, namespace = run_block(code)
    gene = namespace["gene"]
    assert gene.checksum == final.checksum and gene.provenance["id"] == final.id != "initial"
    assert printed[0] == f"vgg11 {gene.share} quickstart {final.id}"
    assert printed[1:] == ["['stem.0', 'body.1']", "MyNet generic 0.2"]
    assert namespace["logits"].shape == (4, 10)
    assert gene.preprocessing["image_size"] == config.data.image_size
    k_out, k_in = gene.channels["features.stages.1.0"]
    assert (
        namespace["mine"].body[1].weight[:k_out, :k_in].detach().numpy()
        == gene.tensors["features.stages.1.0.conv.weight"]
    ).all()


def test_the_python_api_sweep_runs_on_ray(ray_session, tmp_path):
    from tests.helpers import write_config

    config = write_config(
        tmp_path / "tiny.yaml", tmp_path / "runs", "sweep", "evolution.generations=1", "population.size=2"
    )
    code = next(b for b in blocks("Python API", "python") if "gtl_ray.evolve(" in b)
    assert code.count('"configs/quickstart.yaml"') == 1
    printed, namespace = run_block(code.replace('"configs/quickstart.yaml"', repr(str(config))))
    runs = namespace["runs"]
    assert sorted(runs) == [0.1, 0.2, 0.3]
    for share, run in runs.items():
        assert (
            run.finished
            and run.config.learngene.share == share
            and run.path == str(tmp_path / "runs" / f"share-{share}")
        )
        assert run.final_gene.provenance["run"] == f"share-{share}" and run.final_gene.provenance["id"] == run.final_id
        assert run.lineage.num_rows == run.config.population.size and run.per_generation.num_rows == 1
    sizes = [runs[s].final_gene.num_params for s in (0.1, 0.2, 0.3)]
    assert sizes == sorted(set(sizes))  # a larger share, a larger gene
    assert printed[0].startswith(f"share 0.1: final gene {runs[0.1].final_id}, {sizes[0]} parameters, best ")
    assert len(namespace["lineage"]) == runs[0.2].config.population.size
    assert namespace["again"].final_gene.checksum == runs[0.2].final_gene.checksum


def test_your_own_data_fragments_are_valid_configs(tmp_path):
    from gtl_ray.preflight import load_config

    fragments = blocks("Your own data", "yaml", ROOT / "docs" / "data.md")
    assert {yaml.safe_load(f)["data"]["format"] for f in fragments} == {"folder", "parquet", "cifar100"}
    for i, fragment in enumerate(fragments):
        path = tmp_path / f"{i}.yaml"
        path.write_text(fragment)
        assert load_config(path).data.format == yaml.safe_load(fragment)["data"]["format"]


def test_the_readme_leads_with_the_two_commands_and_the_results_in_percent():
    text = README.read_text()
    assert re.findall(r"^## (.+)$", text, re.M)[:3] == ["Two commands", "Results", "Usage"]
    first_screen = "\n".join(text.splitlines()[:60])
    assert (
        "gtl-ray evolve configs/quickstart.yaml" in first_screen and "gtl-ray evaluate runs/quickstart" in first_screen
    )
    results = text[text.index("\n## Results\n") : text.index("\n## Usage\n")]
    rows = [line for line in results.splitlines() if line.startswith(("| offline", "| glyphs"))]
    assert len(rows) == 4 and rows[0] in first_screen
    for row in rows:  # every accuracy in %, every difference in points with its CI
        cells = [c.strip() for c in row.strip("|").split("|")[1:]]
        assert all(re.fullmatch(r"(\d+\.\d%( \([−+]\d+\.\d ± \d+\.\d\))?|[−+]\d+\.\d ± \d+\.\d)", c) for c in cells), (
            row
        )
