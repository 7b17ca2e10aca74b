"""The architecture's invariants, checked on the source itself:

- the science packages (models, learngene, data, evolution, evaluation) never import Ray;
- no import cycle among gtl_ray modules, counting function-level imports (an edge is an explicit
  import; `if TYPE_CHECKING:` blocks are type hints, not imports);
- nothing in gtl_ray imports cli.py (but the `python -m gtl_ray` entry point), and the commands
  (`gtl_ray.commands`) only cli.py and each other;
- private Ray APIs (`ray._private`) only in the capacity adapter;
- one module reads YAML;
- the learngene pool and the run readers import neither torch nor Tune;
- what judges a run's config (a check_ / validate / require / *_shortfall function taking a
  GTLConfig) lives in the pre-flight package only.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "gtl_ray"
SCIENCE = ("models", "learngene", "data", "evolution", "evaluation")
PRIVATE_RAY_ALLOWED = {"gtl_ray.service.capacity"}
YAML_READERS = {"gtl_ray.yaml_loader"}  #: config.py reads configs through it


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    return skipped


def imports(name: str) -> set[str]:
    """Every module `name` imports, anywhere in its body (top level or inside functions)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    skipped = _type_checking_blocks(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
    return found


GRAPH = {name: {m for m in imports(name) if m in MODULES and m != name} for name in MODULES}


def test_science_packages_never_import_ray():
    offenders = {
        n: sorted(m for m in imports(n) if m == "ray" or m.startswith("ray."))
        for n in MODULES
        if n.split(".")[1:2] and n.split(".")[1] in SCIENCE
    }
    assert {n: m for n, m in offenders.items() if m} == {}


def test_no_import_cycles():
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_checker_sees_function_level_imports_and_cycles():
    assert "gtl_ray.service.run" in GRAPH["gtl_ray.commands.run_commands"]  # imported inside a command
    assert "gtl_ray.service.pool" in GRAPH["gtl_ray.service.capacity"]  # imported inside a method


def test_nothing_imports_the_cli():
    # gtl_ray.__main__ is `python -m gtl_ray`: an entry point like the console script
    assert sorted(n for n, deps in GRAPH.items() if "gtl_ray.cli" in deps) == ["gtl_ray.__main__"]


def test_only_the_cli_imports_the_commands():
    commands = {n for n in GRAPH if n.startswith("gtl_ray.commands")}
    users = {n for n, deps in GRAPH.items() if deps & commands and n not in commands}
    assert users == {"gtl_ray.cli"} and "gtl_ray.commands.parser" in GRAPH["gtl_ray.cli"]


#: What every run's learngene pool imports (on the head node) and what `gtl-ray inspect` reads a
#: run with: genes, lineage and manifests are numpy and Arrow, so neither pulls in torch or Tune
#: (measured: a pool module import of 0.5 s and 110 MB of memory, against 2.5 s and 360 MB).
LIGHT = ("gtl_ray.service.pool", "gtl_ray.inspection", "gtl_ray.run.store", "gtl_ray.cli", "gtl_ray.api")


def test_the_pool_and_the_run_readers_import_neither_torch_nor_tune():
    code = f"import importlib, sys; [importlib.import_module(m) for m in {LIGHT!r}]; heavy = sorted({{'torch', 'ray.tune'}} & set(sys.modules)); assert not heavy, heavy"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr[-500:]


def test_private_ray_apis_only_in_the_capacity_adapter():
    users = {n for n, p in MODULES.items() if "ray._private" in p.read_text()}
    assert users <= PRIVATE_RAY_ALLOWED


def test_one_module_reads_yaml():
    assert {n for n in MODULES if "yaml" in imports(n)} == YAML_READERS


def _eager_imports(name: str) -> set[str]:
    """What `name` imports anywhere but in a module-level `__getattr__` (PEP 562 lazy names, taken
    only by a caller that asks for that name)."""
    tree = ast.parse(MODULES[name].read_text())
    lazy = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "__getattr__"]
    hidden = {ast.unparse(n) for fn in lazy for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))}
    if not hidden:
        return imports(name)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and ast.unparse(node) not in hidden:
            base = node.module if isinstance(node, ast.ImportFrom) else None
            names = [a.name for a in node.names]
            found |= {f"{base}.{n}" if f"{base}.{n}" in MODULES else base for n in names} if base else set(names)
    return found


def test_the_pool_imports_no_torch_on_any_path():
    """Every module the learngene pool can reach through any import, at module level or inside a
    function, imports no torch (so the pool never pays for it, whatever it calls)."""
    reached, stack, via = set(), ["gtl_ray.service.pool"], {}
    while stack:
        name = stack.pop()
        if name in reached:
            continue
        reached.add(name)
        for dep in _eager_imports(name):
            assert dep != "torch" and not dep.startswith("torch."), f"torch via {name} <- {via.get(name)}"
            if dep in MODULES and dep not in reached:
                via[dep] = name
                stack.append(dep)
    assert "gtl_ray.evolution.strategy" in reached and "gtl_ray.run.store" in reached


#: Config-judging functions outside gtl_ray.preflight, and why each lives with its owner.
JUDGES_ELSEWHERE = {
    # the resume plan: compares the config with the stored run's manifest, which only the run package reads
    "gtl_ray.run.resume.check_start",
    # guards the episode range a caller asks of the runner (a ValueError on a call, not a config value)
    "gtl_ray.evaluation.runner._check_request",
}
JUDGE_NAME = re.compile(r"_?(check|validate|require)\w*|\w*_shortfall")


def config_judges(name: str, source: str) -> set[str]:
    """The functions of `source` (module `name`) that judge a config: named like a check and
    taking a parameter annotated GTLConfig."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and JUDGE_NAME.fullmatch(node.name):
            params = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            if any(a.annotation is not None and "GTLConfig" in ast.unparse(a.annotation) for a in params):
                found.add(f"{name}.{node.name}")
    return found


def test_config_judges_live_in_the_preflight_package():
    judges = {j for n, p in MODULES.items() for j in config_judges(n, p.read_text())}
    elsewhere = {j for j in judges if not j.startswith("gtl_ray.preflight.")}
    assert elsewhere == JUDGES_ELSEWHERE
    assert {"gtl_ray.preflight.room.local_gpu_shortfall", "gtl_ray.preflight.values.check_values"} <= judges


def test_the_judge_finder_sees_a_judge_and_passes_other_functions():
    source = "def check_room(config: GTLConfig) -> None: ...\ndef live(config: GTLConfig): ...\ndef check(x: int): ..."
    assert config_judges("m", source) == {"m.check_room"}
