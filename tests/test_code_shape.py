"""The shape the package keeps so that a newcomer can read it: no module in gtl_ray/ over 250
lines, no function over 60 lines, no line over 120 characters (`ruff format` keeps code within
the width; messages and comments are wrapped by hand)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "gtl_ray"
MAX_MODULE_LINES = 250
MAX_FUNCTION_LINES = 60
MAX_LINE = 120
SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_modules_are_short():
    long = {
        str(p.relative_to(PACKAGE)): n for p in SOURCES if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_functions_are_short():
    long = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"] = lines
    assert long == {}


def test_lines_are_short():
    long = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in SOURCES
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if len(line) > MAX_LINE
    ]
    assert long == []


def test_the_checks_see_what_they_check():
    assert len(SOURCES) > 50 and PACKAGE / "cli.py" in SOURCES
