"""README sections "Use a learngene in your own model" and "Your own data": their code runs and
their config fragments are valid, so the docs cannot rot."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import yaml

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(title: str, language: str) -> list[str]:
    """The ```language blocks of the README section `## title`."""
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


def test_use_a_learngene_in_your_own_model_runs(tmp_path, monkeypatch):
    import gtl_ray
    from gtl_ray.learngene import gene_info
    from gtl_ray.preflight import load_config
    from gtl_ray.torch_streams import torch_init_seed

    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml")
    with torch_init_seed(0, "readme"):
        model = gtl_ray.create_model(config.model.arch, width=config.model.width)
    gene = gtl_ray.extract_learngene(model, config.learngene.share, **gene_info(config, "g0005m0002", generation=5, member=2))
    monkeypatch.chdir(tmp_path)
    gene.save("runs/quickstart/final/learngene.safetensors")  # what `make demo` leaves there
    (code,) = blocks("Use a learngene in your own model", "python")
    out = io.StringIO()
    namespace: dict = {"__name__": "readme"}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), namespace)
    printed = out.getvalue().splitlines()
    assert printed[0].startswith("vgg11 0.") and printed[0].endswith("quickstart 5")
    assert printed[1:] == ["['stem.0', 'body.1']", "MyNet generic 0.2"]
    assert namespace["logits"].shape == (4, 10)
    k_out, k_in = gene.channels["features.stages.1.0"]
    assert (
        namespace["mine"].body[1].weight[:k_out, :k_in].detach().numpy()
        == gene.tensors["features.stages.1.0.conv.weight"]
    ).all()


def test_your_own_data_fragments_are_valid_configs(tmp_path):
    from gtl_ray.preflight import load_config

    fragments = blocks("Your own data", "yaml")
    assert {yaml.safe_load(f)["data"]["format"] for f in fragments} == {"folder", "parquet", "cifar100"}
    for i, fragment in enumerate(fragments):
        path = tmp_path / f"{i}.yaml"
        path.write_text(fragment)
        assert load_config(path).data.format == yaml.safe_load(fragment)["data"]["format"]
