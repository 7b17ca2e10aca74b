"""Hostile learngene files: every header field of the wrong type, out of range or disagreeing
with the tensors is refused by `gtl-ray inspect` with exit 2 and one line naming the file and the
field (gtl_ray.learngene.header)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import safetensors.numpy

from gtl_ray import Learngene, create_model, extract_learngene
from gtl_ray.learngene.gene import tensors_checksum
from tests.end_to_end.test_bad_input import assert_refused, run_cli

GOOD = extract_learngene(create_model("vgg11", width=0.125), run="r", generation=3)
FIRST = GOOD.units[0]


def write_gene(
    path: Path,
    meta: dict[str, Any] | None = None,
    tensors: dict[str, np.ndarray] | None = None,
    fix_checksum: bool = True,
) -> Path:
    """GOOD's file with the header and tensors replaced; the checksum is recomputed from the
    tensors (so that the field under test, not the checksum, is what gets refused)."""
    tensors = dict(GOOD.tensors) if tensors is None else tensors
    meta = GOOD.metadata() if meta is None else meta
    if fix_checksum and isinstance(meta, dict) and "checksum" in meta and meta["checksum"] == GOOD.checksum:
        meta = {**meta, "checksum": tensors_checksum(tensors)}
    path.write_bytes(safetensors.numpy.save(tensors, metadata={"gtl_ray": json.dumps(meta)}))
    return path


def edit(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def apply(meta: dict[str, Any]) -> dict[str, Any]:
        return {**meta, **changes}

    return apply


def drop(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda meta: {k: v for k, v in meta.items() if k != key}


HEADER_CASES = {
    "architecture_int": (edit(architecture=5), "'architecture'"),
    "architecture_path": (edit(architecture="../../etc"), "'architecture'"),
    "family_long": (edit(family="v" * 500), "'family'"),
    "width_string": (edit(width="wide"), "'width'"),
    "width_bool": (edit(width=True), "'width'"),
    "width_negative": (edit(width=-1.0), "'width'"),
    "width_huge": (edit(width=1e300), "'width'"),
    "depth_float": (edit(depth=11.5), "'depth'"),
    "depth_zero": (edit(depth=0), "'depth'"),
    "depth_string": (edit(depth="11"), "'depth'"),
    "rho_zero": (edit(rho=0), "'rho'"),
    "rho_above_one": (edit(rho=2), "'rho'"),
    "share_not_ratio": (edit(share=0.5), "'share'"),
    "share_list": (edit(share=[0.2]), "'share'"),
    "num_params_negative": (edit(num_params=-1), "'num_params'"),
    "num_params_float": (edit(num_params=1.0), "'num_params'"),
    "num_params_wrong": (
        lambda m: {
            **m,
            "num_params": m["num_params"] + 1,
            "source_params": m["source_params"] + 1,
            "share": (m["num_params"] + 1) / (m["source_params"] + 1),
        },
        "'num_params'",
    ),
    "source_below_num": (lambda m: {**m, "source_params": m["num_params"] - 1}, "'source_params'"),
    "channels_list": (edit(channels=[[1, 2]]), "'channels'"),
    "channels_missing_unit": (
        lambda m: {**m, "channels": {k: v for k, v in m["channels"].items() if k != FIRST}},
        "'channels'",
    ),
    "channels_short": (lambda m: {**m, "channels": {**m["channels"], FIRST: [1]}}, "'channels'"),
    "channels_strings": (lambda m: {**m, "channels": {**m["channels"], FIRST: ["a", "b"]}}, "'channels'"),
    "channels_zero": (lambda m: {**m, "channels": {**m["channels"], FIRST: [0, 3]}}, "'channels'"),
    "channels_disagree": (
        lambda m: {**m, "channels": {**m["channels"], FIRST: [m["channels"][FIRST][0] + 1, 3]}},
        "conv.weight",
    ),
    "units_string": (edit(units="features"), "'units'"),
    "units_twice": (lambda m: {**m, "units": m["units"] + m["units"][:1]}, "'units'"),
    "units_unknown_tensor": (
        lambda m: {**m, "units": m["units"] + ["ghost"], "channels": {**m["channels"], "ghost": [1, 1]}},
        "'ghost.conv.weight'",
    ),
    "checksum_int": (edit(checksum=42), "'checksum'"),
    "checksum_md5": (edit(checksum="md5:abc"), "'checksum'"),
    "checksum_other_gene": (edit(checksum="sha256:" + "0" * 64), "checksum mismatch"),
    "info_list": (edit(info=[1, 2]), "'info'"),
    "info_string": (edit(info="run"), "'info'"),
    "info_huge": (edit(info={"note": "x" * 100_000}), "'info'"),
    "info_deep": (edit(info=json.loads('{"a":' * 20 + "1" + "}" * 20)), "'info'"),
    "unknown_field": (edit(payload="exec"), "'payload'"),
    "missing_family": (drop("family"), "'family'"),
    "missing_checksum": (drop("checksum"), "'checksum'"),
    "format_other": (edit(format="gtl_ray.learngene/99"), "not a gtl_ray learngene"),
    "header_list": (lambda m: [m], "not a gtl_ray learngene"),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_bad_header_fields_are_refused_naming_file_and_field(capsys, tmp_path, case):
    mutate, name = HEADER_CASES[case]
    path = write_gene(tmp_path / f"{case}.safetensors", mutate(GOOD.metadata()))
    assert_refused(*run_cli(capsys, "inspect", path), f"{case}.safetensors", name)


def _tensors(**changes: np.ndarray | None) -> dict[str, np.ndarray]:
    out = dict(GOOD.tensors)
    for key, value in changes.items():
        key = key.replace("__", ".").replace("FIRST", FIRST)
        if value is None:
            del out[key]
        else:
            out[key] = value
    return out


def test_tensors_that_disagree_with_the_header_are_refused(capsys, tmp_path):
    k_out = GOOD.channels[FIRST][0]
    conv = GOOD.tensors[f"{FIRST}.conv.weight"]
    nan = conv.copy()
    nan[0, 0, 0, 0] = np.nan
    cases = {
        "bn_short": (_tensors(FIRST__bn__weight=np.ones(k_out - 1, np.float32)), ["bn.weight", f"expected ({k_out},)"]),
        "bn_matrix": (_tensors(FIRST__bn__running_var=np.ones((k_out, 2), np.float32)), ["bn.running_var"]),
        "conv_3d": (_tensors(FIRST__conv__weight=conv[..., 0]), ["conv.weight", "channels"]),
        "conv_kernel_huge": (
            _tensors(FIRST__conv__weight=np.zeros(conv.shape[:2] + (40, 40), np.float32)),
            ["conv.weight"],
        ),
        "int_tensor": (_tensors(FIRST__bn__bias=np.zeros(k_out, np.int32)), ["bn.bias", "dtype int32"]),
        "nan": (_tensors(FIRST__conv__weight=nan), ["conv.weight", "NaN"]),
        "missing": (_tensors(FIRST__bn__bias=None), ["bn.bias", "missing"]),
        "extra": ({**GOOD.tensors, "smuggled": np.zeros(3, np.float32)}, ["'smuggled'", "does not list"]),
    }
    for case, (tensors, names) in cases.items():
        path = write_gene(tmp_path / f"{case}.safetensors", tensors=tensors)
        assert_refused(*run_cli(capsys, "inspect", path), f"{case}.safetensors", *names)


def test_raw_header_shapes_are_refused(capsys, tmp_path):
    """Headers the safetensors writer would never produce, written byte by byte."""

    def raw(name: str, header: bytes, body: bytes = b"") -> Path:
        path = tmp_path / name
        path.write_bytes(len(header).to_bytes(8, "little") + header + body)
        return path

    cases = {
        "deep.safetensors": (b"[" * 50_000 + b"]" * 50_000, ["deep.safetensors"]),
        "nometa.safetensors": (b'{"__metadata__": 5}', ["nometa.safetensors", "__metadata__"]),
        "notstring.safetensors": (
            b'{"__metadata__": {"gtl_ray": {"format": "gtl_ray.learngene/1"}}}',
            ["notstring.safetensors", "not a gtl_ray learngene"],
        ),
        "dupkey.safetensors": (
            b'{"__metadata__": {"gtl_ray": "{}", "gtl_ray": "{}"}}',
            ["dupkey.safetensors", "duplicate key"],
        ),
        "nan.safetensors": (
            b'{"__metadata__": {"gtl_ray": "{\\"format\\": \\"gtl_ray.learngene/1\\", \\"width\\": NaN}"}}',
            ["nan.safetensors", "NaN"],
        ),
    }
    for name, (header, names) in cases.items():
        assert_refused(*run_cli(capsys, "inspect", raw(name, header)), *names)
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes((1 << 40).to_bytes(8, "little") + b"{}")
    assert_refused(*run_cli(capsys, "inspect", huge), "huge.safetensors", "truncated")


def test_fifo_and_dev_zero_as_learngene_are_refused_at_once(capsys, tmp_path):
    import os

    fifo = tmp_path / "gene.safetensors"
    os.mkfifo(fifo)
    assert_refused(*run_cli(capsys, "inspect", fifo), "gene.safetensors", "FIFO")
    assert_refused(*run_cli(capsys, "inspect", "/dev/zero"), "/dev/zero")
    config = tmp_path / "c.yaml"
    from tests.helpers import write_config

    write_config(config, tmp_path / "runs", "fifo")
    assert_refused(
        *run_cli(capsys, "evaluate", config, "--learngene", fifo, "--methods", "learngene"), "gene.safetensors", "FIFO"
    )
    assert_refused(*run_cli(capsys, "descend", config, "--learngene", "/dev/zero"), "/dev/zero", "device")


def test_info_is_free_form_json_and_round_trips(tmp_path):
    """Other keys under `info` (preprocessing, provenance, ...) are allowed: only its type,
    size and depth are checked."""
    gene = GOOD.replace_tensors(
        GOOD.tensors, preprocessing={"mean": [0.5, 0.5, 0.5], "size": 32}, provenance={"run": "r", "members": [1, 2]}
    )
    path = tmp_path / "g.safetensors"
    gene.save(str(path))
    loaded = Learngene.load(str(path))
    assert (
        loaded.info["preprocessing"]["size"] == 32
        and loaded.info["provenance"]["members"] == [1, 2]
        and loaded.info["generation"] == 3
    )
    assert loaded.checksum == GOOD.checksum and math.isclose(loaded.share, GOOD.share)
