"""`gtl-ray export`: a learngene as a model-hub folder (plain safetensors, config.json, a model
card) from a real run; read back by `Learngene.load`, `--learngene` and `hf://owner/repo` through
huggingface_hub's own cache layout, offline."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gtl_ray.cli import main
from gtl_ray.learngene import Learngene
from tests.helpers import GTL_RAY, ROOT, subprocess_env

REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def run_dir(tiny_run, tmp_path_factory) -> Path:
    """A copy of the session's tiny run with an evaluation.json beside its manifest."""
    copy = tmp_path_factory.mktemp("export") / "shared"
    shutil.copytree(tiny_run[1].run_dir, copy, ignore=shutil.ignore_patterns("tune-from-*", "report"))
    row = {"n_way": 5, "shots": 1, "ci95": 0.02, "episodes": 4, "instinct_mean": 0.3, "instinct_ci95": 0.01}
    results = [dict(row, method="scratch", mean=0.4), dict(row, method="learngene", mean=0.5)]
    paired = [{"method": "learngene", "versus": "scratch", "shots": 1, "mean": 0.1, "ci95": 0.03, "episodes": 4}]
    (copy / "evaluation.json").write_text(json.dumps({"results": results, "paired": paired}))
    return copy


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exported") / "gene"
    assert main(["export", str(run_dir), str(out), "--repo", "someone/gene"]) == 0
    return out


def test_export_writes_the_final_gene_a_config_and_a_model_card(run_dir, exported):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert sorted(p.name for p in exported.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert (exported / "model.safetensors").read_bytes() == (run_dir / "final" / "learngene.safetensors").read_bytes()
    config = json.loads((exported / "config.json").read_text())
    gene = Learngene.load(str(exported))
    assert config["checksum"] == gene.checksum == manifest["final"]["checksum"]
    assert (config["architecture"], config["width"], config["share"]) == (gene.architecture, gene.width, gene.share)
    assert config["preprocessing"]["image_size"] == manifest["config"]["data"]["image_size"]
    assert config["run"]["name"] == "shared" and config["run"]["final gene"] == manifest["final"]["id"]
    card = (exported / "README.md").read_text()
    assert card.startswith("---\nlicense: apache-2.0\nlibrary_name: gtl_ray\n")
    assert "plain [safetensors]" in card and "any\nframework" in card and "hf://someone/gene" in card
    assert f"| final gene | `{manifest['final']['id']}` |" in card and "| image size | 32 |" in card
    assert "| learngene | 50.00 ± 2.00 |" in card and "| 1-shot | learngene - scratch | +10.00 ± 3.00 |" in card


def test_the_cards_plain_safetensors_example_runs(exported, monkeypatch, capsys):
    """The card's first Python block, as a reader would paste it, in the exported folder."""
    code = re.findall(r"```python\n(.*?)```", (exported / "README.md").read_text(), re.S)[0]
    monkeypatch.chdir(exported)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    gene = Learngene.load(str(exported))
    printed = capsys.readouterr().out.splitlines()
    assert sorted(printed) == sorted(f"{name} {value.shape}" for name, value in gene.tensors.items())
    assert json.loads(namespace["header"])["checksum"] == gene.checksum
    assert set(namespace["tensors"]) == set(gene.tensors)


def test_export_refuses_to_replace_an_earlier_one_and_a_run_without_final_gene(run_dir, exported, tmp_path, capsys):
    assert main(["export", str(run_dir), str(exported)]) == 2
    assert "already holds model.safetensors, config.json, README.md; pass --overwrite" in capsys.readouterr().err
    assert main(["export", str(exported), str(tmp_path / "again"), "--license", "cc-by-4.0"]) == 0  # a gene alone
    assert "license: cc-by-4.0" in (tmp_path / "again" / "README.md").read_text()
    assert main(["export", str(run_dir), str(tmp_path / "x"), "--repo", "no-owner"]) == 2
    assert main(["export", str(run_dir), str(tmp_path / "x"), "--license", "mit\nlibrary_name: x"]) == 2
    partial = tmp_path / "partial"
    shutil.copytree(run_dir, partial)
    manifest = json.loads((partial / "manifest.json").read_text())
    (partial / "manifest.json").write_text(json.dumps(dict(manifest, final=None)))
    capsys.readouterr()
    assert main(["export", str(partial), str(tmp_path / "y")]) == 2
    assert "no final learngene yet" in capsys.readouterr().err and not (tmp_path / "y").exists()


def test_a_folder_without_a_gene_is_refused_with_a_pointer(run_dir, tmp_path, capsys):
    assert main(["inspect", str(tmp_path)]) == 2
    assert f"{tmp_path}: a folder without model.safetensors" in capsys.readouterr().err
    with pytest.raises(
        Exception, match="a run folder, not a learngene; its final gene is .*final/learngene.safetensors"
    ):
        Learngene.load(str(run_dir))


def hub_cache(root: Path, exported: Path) -> dict[str, str]:
    """A Hugging Face cache holding `someone/gene` at REVISION (branch main), laid out the way
    huggingface_hub lays it out (refs/main names the commit, snapshots/COMMIT holds the files),
    and the environment that makes huggingface_hub use it offline."""
    repo = root / "hub" / "models--someone--gene"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REVISION)
    shutil.copytree(exported, repo / "snapshots" / REVISION)
    return {**subprocess_env(), "HF_HUB_OFFLINE": "1", "HF_HOME": str(root), "HF_HUB_CACHE": str(root / "hub")}


HUB_CHECKS = f"""
import gtl_ray
from gtl_ray.errors import LearngeneError
for uri in ("hf://someone/gene@{REVISION}", "hf://someone/gene@main"):
    print(gtl_ray.Learngene.load(uri).checksum)
print(gtl_ray.create_model("vgg11", width=0.25, learngene="hf://someone/gene").width)
try:
    gtl_ray.Learngene.load("hf://someone/gene@v9")
except LearngeneError as exc:
    print(exc)
"""


def test_hf_uri_loads_through_huggingface_hubs_cache_offline(exported, tmp_path):
    """`gtl-ray inspect hf://...` and Python's loaders, in processes whose huggingface_hub reads
    the environment (HF_HUB_OFFLINE, HF_HOME, HF_HUB_CACHE) when it is imported."""
    env = hub_cache(tmp_path / "hf", exported)
    checksum = Learngene.load(str(exported)).checksum
    done = subprocess.run(
        [GTL_RAY, "inspect", "hf://someone/gene", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["checksum"] == checksum, done.stderr[-500:]
    done = subprocess.run(
        [sys.executable, "-c", HUB_CHECKS], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-500:]
    by_revision, by_branch, width, missing = done.stdout.strip().splitlines()
    assert by_revision == by_branch == checksum and width == "0.25"
    assert missing.startswith("hf://someone/gene@v9: cannot fetch model.safetensors of someone/gene")


def test_hf_uri_without_huggingface_hub_says_what_to_install():
    code = "import sys; sys.modules['huggingface_hub'] = None; from gtl_ray.cli import main; sys.exit(main(['inspect', 'hf://someone/gene']))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), cwd=ROOT, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "gtl-ray: error: hf://someone/gene: loading a learngene from the Hugging Face Hub needs "
        "pip install 'gtl_ray[hub]' (or: pip install huggingface_hub)"
    ]
