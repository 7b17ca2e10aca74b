"""gtl_ray.config_source: overrides as `--set` takes them, and a run folder told from a file."""

from __future__ import annotations

import pytest

from gtl_ray.config_source import as_overrides, run_folder
from gtl_ray.errors import ConfigError
from gtl_ray.preflight import load_config


def test_overrides_from_a_list_or_a_mapping_read_back_as_the_same_values():
    overrides = as_overrides({"evolution.generations": 4, "evaluation.shots": [1, 5], "model.arch": "vgg11"})
    assert overrides == ["evolution.generations=4", "evaluation.shots=[1, 5]", 'model.arch="vgg11"']
    config = load_config(None, overrides)
    assert (config.evolution.generations, config.evaluation.shots, config.model.arch) == (4, [1, 5], "vgg11")
    assert as_overrides(["a=1"]) == ["a=1"] and as_overrides(None) == []
    with pytest.raises(ConfigError, match="got the string 'a=1'"):
        as_overrides("a=1")


def test_a_run_folder_holds_a_manifest(tmp_path):
    (tmp_path / "run").mkdir()
    assert run_folder(tmp_path / "run") is None and run_folder("hf://owner/repo") is None and run_folder(3) is None
    (tmp_path / "run" / "manifest.json").write_text("{}")
    assert run_folder(f"{tmp_path}/run/") == f"{tmp_path}/run"
