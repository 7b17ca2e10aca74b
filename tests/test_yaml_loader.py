"""Config files and `--set` values through the bounded YAML loader (gtl_ray.yaml_loader): alias
bombs and deep nesting fail fast with a short message, duplicate keys are refused, exponent
numbers are floats, and a config file must be a regular UTF-8 file of bounded size."""

from __future__ import annotations

import os
import time

import pytest
import yaml

from gtl_ray.errors import ConfigError
from gtl_ray.preflight import load_config
from gtl_ray.yaml_loader import MAX_ALIASES, parse
from tests.end_to_end.test_bad_input import assert_refused, nothing_written, run_cli
from tests.helpers import write_config


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """`levels` anchors each listing the previous one `width` times: width**levels leaves."""
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines)


@pytest.fixture
def base(tmp_path):
    """The tiny config's YAML text, to append hostile lines to."""
    return write_config(tmp_path / "base.yaml", tmp_path / "runs", "yaml").read_text()


def refuse_file(capsys, tmp_path, text: str | bytes, *names: str, seconds: float = 5.0) -> str:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    start = time.monotonic()
    line = assert_refused(*run_cli(capsys, "validate", path), *names)
    assert time.monotonic() - start < seconds
    assert len(line) < 700, line
    return line


def test_alias_bomb_fails_fast_without_expanding(capsys, tmp_path):
    refuse_file(capsys, tmp_path, alias_bomb(12, 9), "hostile.yaml", f"more than {MAX_ALIASES} aliases")


def inline_bomb(levels: int = 8, width: int = 9) -> str:
    """A flow sequence whose last item has width**levels leaves (levels * width aliases)."""
    items = ["&a0 [lol]"] + [f"&a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "[" + ", ".join(items) + "]"


@pytest.mark.parametrize(
    "key", ["evaluation.methods", "data.splits.base", "evaluation.shots", "name", "population", "model.width"]
)
def test_a_small_alias_bomb_in_a_value_is_never_expanded(capsys, tmp_path, key):
    """Under the alias limit (72 aliases, 9**8 leaves): refused fast, the message quoting a
    bounded prefix of the value instead of rendering it."""
    path = write_config(tmp_path / "c.yaml", tmp_path / "runs", "bomb")
    start = time.monotonic()
    line = assert_refused(*run_cli(capsys, "validate", path, "--set", f"{key}={inline_bomb()}"), key)
    assert time.monotonic() - start < 5 and len(line) < 700, line
    text = path.read_text() + f"\nbombs: {inline_bomb()}\n"
    (tmp_path / "in_file.yaml").write_text(text)
    assert_refused(*run_cli(capsys, "validate", tmp_path / "in_file.yaml"), "unknown key bombs")


def test_deep_nesting_and_duplicate_keys(capsys, tmp_path, base):
    refuse_file(capsys, tmp_path, "a: " + "[" * 1000 + "]" * 1000, "nested deeper than 32")
    refuse_file(capsys, tmp_path, base + "\npopulation:\n  size: 64\n", "hostile.yaml", "duplicate key 'population'")
    refuse_file(capsys, tmp_path, "model:\n  width: 1\n  width: 2\n", "duplicate key 'width'")
    with pytest.raises(ConfigError, match="duplicate key"):
        parse("{a: 1, a: 2}", "--set x")


@pytest.mark.parametrize(
    "text,names",
    [
        ("!!python/object/apply:os.system ['touch PWNED']", ["hostile.yaml", "not valid YAML"]),
        ("seed: " + "9" * 5000, ["hostile.yaml", "not valid YAML"]),
        ("seed: 2020-13-45", ["hostile.yaml"]),
        ("population: [1, 2", ["hostile.yaml", "not valid YAML"]),
        ("- 1\n", ["top level must be a mapping"]),
        ("{1: 2, [3]: 4}", ["hostile.yaml"]),
        ("7: 1\nname: x\n", ["unknown key"]),
    ],
)
def test_hostile_documents(capsys, tmp_path, text, names):
    refuse_file(capsys, tmp_path, text, *names)
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")


def test_config_file_must_be_utf8_regular_and_bounded(capsys, tmp_path):
    refuse_file(capsys, tmp_path, "name: caf\xe9\n".encode("latin-1"), "hostile.yaml", "not UTF-8")
    os.mkfifo(tmp_path / "fifo.yaml")
    assert_refused(*run_cli(capsys, "validate", tmp_path / "fifo.yaml"), "fifo.yaml", "FIFO")
    assert_refused(*run_cli(capsys, "validate", tmp_path), str(tmp_path), "folder")
    assert_refused(*run_cli(capsys, "validate", "/dev/zero"), "/dev/zero", "device")
    refuse_file(capsys, tmp_path, "#" * (2 << 20), "hostile.yaml", "limit for config files")


def test_exponent_numbers_are_floats(tmp_path, base):
    path = tmp_path / "exp.yaml"
    path.write_text(base.replace("  lr: 0.05", "  lr: 1e-3", 1))
    config = load_config(path, ["evaluation.lr=5E-4", "evolution.mutation_sigma=+2e-1"])
    assert config.lifetime.lr == 1e-3 and config.evaluation.lr == 5e-4 and config.evolution.mutation_sigma == 0.2
    assert parse("[1e-9, 1.5e3, -2E+2, 3, 1_0, e5, 1e]", "x") == [1e-9, 1500.0, -200.0, 3, 10, "e5", "1e"]
    assert yaml.safe_load("1e-9") == "1e-9"  # what PyYAML alone makes of it


@pytest.mark.parametrize(
    "override,names",
    [
        ("lifetime.lr=.inf", ["lifetime.lr", "finite"]),
        ("evolution.mutation_sigma=.nan", ["evolution.mutation_sigma", "finite"]),
        ("model.width=1e999", ["model.width", "finite"]),
        ("population.resource_timeout_s=-.inf", ["population.resource_timeout_s", "finite"]),
        ("population.size=100000000000000000000000", ["population.size", "out of range"]),
        ("name=" + "n" * 5000, ["name"]),
        ("evaluation.methods=" + "[" * 40 + "]" * 40, ["--set evaluation.methods", "nested deeper"]),
        ("seed=!!binary AAAA", ["seed", "expected an integer"]),
    ],
)
def test_non_finite_and_oversized_values(capsys, tmp_path, override, names):
    path = write_config(tmp_path / "c.yaml", tmp_path / "runs", "values")
    line = assert_refused(*run_cli(capsys, "evolve", path, "--set", override), *names)
    assert len(line) < 700
    assert nothing_written(tmp_path / "runs")
