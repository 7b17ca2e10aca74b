"""Property-based fuzzing of every file gtl_ray reads: valid learngene files, lineage tables and
configs mutated at random (fields replaced by arbitrary JSON/YAML values, keys dropped, bytes
flipped, files cut short) must give exit 0 or exit 2 with exactly one `gtl-ray: error:` line on
stderr — never a traceback, an "unexpected" exit 1, a hang (> 30 s), or a file written anywhere
in the example's sandbox (the command's working directory and the folders it was given).

Examples are bounded and derandomized (the same examples on every run) so the whole module runs
in well under a minute; the Hypothesis example database is off (it would write to the repo).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import safetensors.numpy
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gtl_ray import create_model, extract_learngene
from gtl_ray.cli import main
from gtl_ray.evolution.lineage import SCHEMA, to_table
from tests.evolution.test_lineage import family
from tests.helpers import ROOT, store_run, write_config

HANG_SECONDS = 30
FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
GENE = extract_learngene(create_model("vgg11", width=0.0625))

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
YAML_WORDS = [
    ".inf",
    "-.inf",
    ".nan",
    "1e-9",
    "1e999",
    "~",
    "null",
    "yes",
    "0x10",
    "0o7",
    "&a [1]",
    "*a",
    "!!binary AAAA",
    "!!python/name:os.system",
    "[",
    "{",
    "'",
    '"\\0"',
    "..",
    "a/b",
    "2020-13-45",
    "9" * 5000,
]


class Hang(Exception):
    pass


def _alarm(*_: Any) -> None:
    raise Hang(f"a command ran longer than {HANG_SECONDS} s")


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


@contextlib.contextmanager
def sandbox() -> Iterator[Path]:
    """A fresh folder that is also the working directory while the command runs."""
    with tempfile.TemporaryDirectory(prefix="gtl-fuzz-") as folder:
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(cwd)


def run_clean(root: Path, *argv: str) -> int:
    """Run `gtl-ray argv` in-process; assert the exit contract and that nothing under `root`
    (sandbox and inputs) was written or deleted."""
    before = snapshot(root)
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:
                code = exc.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    text = err.getvalue()
    lines = [line for line in text.splitlines() if line.strip()]
    assert code in (0, 2) and "Traceback" not in text, (code, text[-2000:])
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("gtl-ray: error: "), text[-2000:]
    else:
        assert not lines, text[-2000:]
    assert snapshot(root) == before, "a file was written or deleted"
    kind = lines[0][16:].replace(str(root), "")[:48] if code == 2 else ""
    event(f"exit {code} {kind}".encode("ascii", "backslashreplace").decode())
    return code


# ---------------------------------------------------------------- learngene files


def gene_bytes(meta: Any, tensors: dict | None = None) -> bytes:
    return safetensors.numpy.save(
        tensors or GENE.tensors, metadata={"gtl_ray": json.dumps(meta, allow_nan=True, default=str)}
    )


header_edits = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(sorted(GENE.metadata()) + ["extra"]), json_values),
    st.tuples(st.just("drop"), st.sampled_from(sorted(GENE.metadata())), st.none()),
    st.tuples(st.just("channel"), st.sampled_from(GENE.units), json_values),
    st.tuples(st.just("info"), st.text(max_size=8), json_values),
)
byte_edits = st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 255)), min_size=1, max_size=6)


@FUZZ
@given(edits=st.lists(header_edits, min_size=1, max_size=3))
def test_fuzz_learngene_header(edits):
    meta = GENE.metadata()
    for op, key, value in edits:
        if op == "set":
            meta[key] = value
        elif op == "drop":
            meta.pop(key, None)
        elif op == "channel":
            meta["channels"] = {**meta["channels"], key: value} if isinstance(meta.get("channels"), dict) else value
        else:
            meta["info"] = {**meta["info"], key: value} if isinstance(meta.get("info"), dict) else value
    with sandbox() as root:
        (root / "g.safetensors").write_bytes(gene_bytes(meta))
        run_clean(root, "inspect", str(root / "g.safetensors"))


@FUZZ
@given(flips=byte_edits, cut=st.none() | st.integers(0, 10**6))
def test_fuzz_learngene_bytes(flips, cut):
    data = bytearray(GENE.to_bytes())
    for position, value in flips:
        data[position % len(data)] = value
    with sandbox() as root:
        (root / "g.safetensors").write_bytes(bytes(data[: cut % (len(data) + 1)] if cut is not None else data))
        run_clean(root, "inspect", str(root / "g.safetensors"))


# ---------------------------------------------------------------- lineage tables (inside a run)


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory) -> Path:
    return Path(store_run(tmp_path_factory.mktemp("fuzz-run"))[1].run_dir)


arrow_columns = st.sampled_from(
    [pa.int32(), pa.int64(), pa.float64(), pa.string(), pa.bool_(), pa.list_(pa.int32()), pa.list_(pa.string())]
)
cell_values = (
    st.none()
    | st.booleans()
    | st.integers(-(2**31), 2**31 - 1)
    | st.floats()
    | st.text(max_size=12)
    | st.lists(st.integers(-5, 5), max_size=3)
)
lineage_edits = st.one_of(
    st.tuples(st.just("cell"), st.integers(0, 3), st.sampled_from(SCHEMA.names), cell_values),
    st.tuples(
        st.just("column"), st.sampled_from(SCHEMA.names), arrow_columns, st.lists(cell_values, min_size=4, max_size=4)
    ),
    st.tuples(st.just("drop"), st.sampled_from(SCHEMA.names), st.none(), st.none()),
)


def mutated_table(edits: list) -> pa.Table | None:
    rows = [dict(r) for r in to_table(family()).to_pylist()]
    table = None
    for edit in edits:
        if edit[0] == "cell":
            rows[edit[1]][edit[2]] = edit[3]
    try:
        table = pa.Table.from_pylist(rows)
        for op, name, kind, values in edits:
            if op == "column" and name in table.column_names:
                table = table.set_column(
                    table.column_names.index(name), name, pa.array(values, type=kind, from_pandas=True)
                )
            elif op == "drop" and name in table.column_names:
                table = table.drop_columns([name])
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None  # not a table Arrow can hold: nothing to write
    return table


@FUZZ
@given(edits=st.lists(lineage_edits, min_size=1, max_size=3), flips=st.none() | byte_edits)
def test_fuzz_lineage_table(stored_run, edits, flips):
    table = mutated_table(edits)
    with sandbox() as root:
        run = Path(shutil.copytree(stored_run, root / "run"))
        if table is not None:
            pq.write_table(table, run / "lineage.parquet")
        if flips:
            data = bytearray((run / "lineage.parquet").read_bytes())
            for position, value in flips:
                data[position % len(data)] = value
            (run / "lineage.parquet").write_bytes(bytes(data))
        run_clean(root, "inspect", str(run))


# ---------------------------------------------------------------- configs


@pytest.fixture(scope="module")
def config_text(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("fuzz-config")
    return write_config(folder / "c.yaml", "RUNS", "fuzz").read_text()


def leaves(raw: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in raw.items():
        out.append(prefix + key)
        if isinstance(value, dict):
            out += leaves(value, f"{prefix}{key}.")
    return out


KEYS = leaves(yaml.safe_load((ROOT / "configs" / "quickstart.yaml").read_text())) + [
    "evaluation.descendant.depth",
    "descend.lr",
    "pretrain.batch_size",
    "bogus",
]


@FUZZ
@given(
    sets=st.lists(st.tuples(st.sampled_from(KEYS), json_values | st.sampled_from(YAML_WORDS)), max_size=3),
    inserts=st.lists(
        st.tuples(st.integers(0, 5000), st.text(alphabet="&*!{}[]:-,#%@`|>'\"\n\t .e0123456789abc\\", max_size=8)),
        max_size=3,
    ),
)
def test_fuzz_config(config_text, sets, inserts):
    text = config_text
    for position, piece in inserts:
        position %= len(text) + 1
        text = text[:position] + piece + text[position:]
    with sandbox() as root:
        (root / "c.yaml").write_text(text.replace("RUNS", str(root / "runs")))
        argv = ["validate", str(root / "c.yaml")]
        for key, value in sets:
            argv += [
                "--set",
                f"{key}={value if isinstance(value, str) and value in YAML_WORDS else json.dumps(value, default=str)}",
            ]
        run_clean(root, *argv)


# ---------------------------------------------------------------- evaluation JSON (report)

ROW = {
    "method": "learngene",
    "n_way": 5,
    "shots": 1,
    "mean": 0.5,
    "ci95": 0.02,
    "episodes": 4,
    "instinct_mean": 0.3,
    "instinct_ci95": 0.01,
}


@settings(FUZZ, max_examples=200)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, 2), st.sampled_from(sorted(ROW) + ["variant", "width", "depth", "share", "x"]), json_values
        ),
        max_size=4,
    ),
    section=st.sampled_from(["results", "scalability", "<b>", ""]),
    extra=json_values,
)
def test_fuzz_evaluation_rows_either_render_or_are_refused(edits, section, extra):
    """Whatever parse_evaluation accepts, the report's HTML renders; anything else is an
    EvaluationFileError (exit 2), never another exception."""
    from gtl_ray.errors import EvaluationFileError
    from gtl_ray.evaluation.results_file import parse_evaluation
    from gtl_ray.report import _evaluation_html

    rows = [dict(ROW, shots=s) for s in (1, 5, 10)]
    for index, key, value in edits:
        rows[index][key] = value
    try:
        sections = parse_evaluation({section: rows, "other": extra}, "e.json")
    except EvaluationFileError as exc:
        event(str(exc).split(": ", 3)[-1][:40])
        return
    event("accepted")
    page = _evaluation_html(sections)
    assert "<b>" not in page.replace("<h3><b>", "")
