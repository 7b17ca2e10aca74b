"""gtl_ray.learngene.locate: the learngene file a user's location names."""

from __future__ import annotations

import pytest

from gtl_ray.errors import LearngeneError
from gtl_ray.learngene.locate import gene_file, parse_hub_uri


def test_a_file_an_exported_folder_or_a_run_folder(tmp_path):
    assert gene_file(str(tmp_path / "g.safetensors")) == str(tmp_path / "g.safetensors")
    with pytest.raises(LearngeneError, match="a folder without model.safetensors"):
        gene_file(str(tmp_path))
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(LearngeneError, match="a run folder, not a learngene; its final gene is"):
        gene_file(str(tmp_path))
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert gene_file(str(tmp_path)).endswith("model.safetensors")


def test_hub_uris():
    assert parse_hub_uri("hf://owner/repo") == ("owner/repo", None)
    assert parse_hub_uri("hf://owner/repo@v1") == ("owner/repo", "v1")
    with pytest.raises(LearngeneError, match="expected hf://owner/repo"):
        parse_hub_uri("hf://owner")
