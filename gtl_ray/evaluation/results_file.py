"""The evaluation results file read back by `gtl-ray report`, typed and checked.

`gtl-ray evaluate ... --out FILE` writes `{"results": [row, ...], "paired": [difference, ...]}`;
the efficacy benchmark adds more sections of rows (`scalability`, `shares`) and sections of other
things (machine, timings), which the report does not show. Every row of a row section is parsed
into a `ResultRow`, every paired difference into a `PairedRow`, every field checked; anything else
is an EvaluationFileError naming the file, section, row and field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gtl_ray import formats
from gtl_ray.errors import EvaluationFileError, quote

MAX_ROWS = 100_000  #: rows per section
MAX_TEXT = 200  #: characters of a method, variant or section name


@dataclass(frozen=True)
class ResultRow:
    """One (method, shots) result: accuracies are fractions in [0, 1], `ci95` half-widths."""

    method: str
    n_way: int
    shots: int
    mean: float
    ci95: float
    episodes: int
    instinct_mean: float
    instinct_ci95: float
    variant: str | None = None  #: benchmark sections: the descendant's shape ("wider x2")
    width: float | None = None
    depth: int | None = None
    share: float | None = None
    transferred_share: float | None = None  #: share of the descendant's backbone transferred
    preparation_sample_grads: int | None = None  #: spent before any episode (pre-training, distillation)
    finetune_sample_grads: float | None = None  #: spent per episode

    def as_dict(self, keys: tuple[str, ...]) -> dict[str, Any]:
        """The row as the report's tables take it, with the optional fields listed in `keys`."""
        return {k: getattr(self, k) for k in _REQUIRED + keys}


@dataclass(frozen=True)
class PairedRow:
    """`method` minus `versus` per episode at `shots`: mean and 95% CI half-width, fractions."""

    method: str
    versus: str
    shots: int
    mean: float
    ci95: float
    episodes: int


_REQUIRED = ("method", "n_way", "shots", "mean", "ci95", "episodes", "instinct_mean", "instinct_ci95")
_OPTIONAL = (
    "variant",
    "width",
    "depth",
    "share",
    "transferred_share",
    "preparation_sample_grads",
    "finetune_sample_grads",
)
_PAIRED = ("method", "versus", "shots", "mean", "ci95", "episodes")


def read_evaluation(location: str) -> dict[str, list[dict[str, Any]]]:
    """The row sections of an evaluation JSON file, each row checked (see the module docstring)."""
    return parse_evaluation(formats.read_json(location, "evaluation"), location)


def parse_evaluation(value: Any, source: str) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(value, dict):
        raise EvaluationFileError(
            f'{source}: must be a JSON object of sections such as {{"results": [rows]}}, got {type(value).__name__}'
        )
    sections: dict[str, list[dict[str, Any]]] = {}
    for name, rows in value.items():
        if not (isinstance(rows, list) and any(isinstance(r, dict) and "method" in r for r in rows)):
            continue  # not a section of result rows (benchmark metadata): not shown
        if len(name) > MAX_TEXT or len(rows) > MAX_ROWS:
            raise EvaluationFileError(
                f"{source}: section {quote(name)} must have a name of at most {MAX_TEXT} characters and at most "
                f"{MAX_ROWS} rows"
            )
        if any(isinstance(r, dict) and "versus" in r for r in rows):  # paired differences
            pairs = [_parse_paired(row, f"{source}: section {quote(name)} row {i}") for i, row in enumerate(rows)]
            sections[name] = [{k: getattr(p, k) for k in _PAIRED} for p in pairs]
            continue
        parsed = [_parse_row(row, f"{source}: section {quote(name)} row {i}") for i, row in enumerate(rows)]
        keys = tuple(k for k in _OPTIONAL if isinstance(rows[0], dict) and k in rows[0])
        sections[name] = [row.as_dict(keys) for row in parsed]
    return sections


def _parse_paired(row: Any, where: str) -> PairedRow:
    text, integer, number = _fields(row, where, _PAIRED)
    return PairedRow(
        method=text("method"),
        versus=text("versus"),
        shots=integer("shots", 1),
        mean=number("mean", -1.0, 1.0),
        ci95=number("ci95", 0.0, 2.0),
        episodes=integer("episodes", 1),
    )


def _parse_row(row: Any, where: str) -> ResultRow:
    text, integer, number = _fields(row, where, _REQUIRED)
    return ResultRow(
        method=text("method"),
        n_way=integer("n_way", 2),
        shots=integer("shots", 1),
        mean=number("mean", 0.0, 1.0),
        ci95=number("ci95", 0.0, 1.0),
        episodes=integer("episodes", 1),
        instinct_mean=number("instinct_mean", 0.0, 1.0),
        instinct_ci95=number("instinct_ci95", 0.0, 1.0),
        variant=text("variant", optional=True),
        width=number("width", 0.0, 1e6, optional=True),
        depth=integer("depth", 1, optional=True),
        share=number("share", 0.0, 1.0, optional=True),
        transferred_share=number("transferred_share", 0.0, 1.0, optional=True),
        preparation_sample_grads=integer("preparation_sample_grads", 0, optional=True),
        finetune_sample_grads=number("finetune_sample_grads", 0.0, 2.0**53, optional=True),
    )


def _fields(row: Any, where: str, required: tuple[str, ...]) -> tuple[Any, Any, Any]:
    """Checked getters (text, integer, number) for the fields of `row`, which must be an object
    holding every key in `required`; each names `where` and the field when a value is wrong."""
    if not isinstance(row, dict):
        raise EvaluationFileError(f"{where}: must be an object, got {quote(row)}")
    missing = [k for k in required if k not in row]
    if missing:
        raise EvaluationFileError(f"{where}: field {missing[0]!r} is missing")

    def field(key: str, ok: bool, rule: str) -> Any:
        if not ok:
            raise EvaluationFileError(f"{where}: field {key!r} must be {rule}, got {quote(row.get(key))}")
        return row.get(key)

    def text(key: str, optional: bool = False) -> str | None:
        value = row.get(key)
        return field(
            key,
            (optional and value is None) or (isinstance(value, str) and len(value) <= MAX_TEXT),
            f"a string of at most {MAX_TEXT} characters",
        )

    def integer(key: str, low: int, optional: bool = False) -> int | None:
        value = row.get(key)
        return field(
            key,
            (optional and value is None)
            or (isinstance(value, int) and not isinstance(value, bool) and low <= value < 2**53),
            f"an integer >= {low}",
        )

    def number(key: str, low: float, high: float, optional: bool = False) -> float | None:
        value = row.get(key)
        ok = (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and low <= value <= high
        )
        return field(key, (optional and value is None) or ok, f"a number in [{low:g}, {high:g}]")

    return text, integer, number
