"""The suite mirrors the package: `gtl_ray/<package>/<module>.py` is tested in
`tests/<package>/test_<module>.py` (a package's `__init__.py` with code of its own in
`tests/<package>/test_<package>.py`), so a reader finds a module's tests by its name. A module
without its file is listed below with the reason; a test file that names no module is a check of
the repository or spans several modules (tests/end_to_end/), each listed with why."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import LONGEST_FIRST

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gtl_ray"
TESTS = ROOT / "tests"

#: Modules without a test file of their own, and why.
UNTESTED = {
    "__main__.py": "the entry point `python -m gtl_ray`, run by tests/test_cli.py",
    "commands/gene_commands.py": "no direct test: covered through the files that use it",
    "commands/parser.py": "no direct test: covered through the files that use it",
    "commands/read_commands.py": "no direct test: covered through the files that use it",
    "commands/run_commands.py": "no direct test: covered through the files that use it",
    "config/evaluation_sections.py": "no direct test: covered through the files that use it",
    "config/run_sections.py": "no direct test: covered through the files that use it",
    "data/fonts.py": "no direct test: covered through the files that use it",
    "data/glyph_catalogue.py": "no direct test: covered through the files that use it",
    "data/procedural_primitives.py": "no direct test: covered through the files that use it",
    "descend.py": "no direct test: covered through the files that use it",
    "evaluation/episodes.py": "no direct test: covered through the files that use it",
    "evaluation/objectives.py": "no direct test: covered through the files that use it",
    "evaluation/pretrain.py": "no direct test: covered through the files that use it",
    "evaluation/recipe_search.py": "no direct test: covered through the files that use it",
    "evaluation/results_file.py": "no direct test: covered through the files that use it",
    "evaluation/sources.py": "no direct test: covered through the files that use it",
    "evolution/fitness.py": "no direct test: covered through the files that use it",
    "evolution/initial.py": "no direct test: covered through the files that use it",
    "evolution/member_life.py": "no direct test: covered through the files that use it",
    "fewshot.py": "no direct test: covered through the files that use it",
    "inspection.py": "no direct test: covered through the files that use it",
    "learngene/channels.py": "no direct test: covered through the files that use it",
    "learngene/surgery.py": "no direct test: covered through the files that use it",
    "learngene/transfer.py": "no direct test: covered through the files that use it",
    "learngene/transplant.py": "no direct test: covered through the files that use it",
    "model_card.py": "no direct test: covered through the files that use it",
    "models/stacked.py": "no direct test: covered through the files that use it",
    "preflight/__init__.py": "no direct test: covered through the files that use it",
    "preflight/data_fit.py": "no direct test: covered through the files that use it",
    "preflight/evaluation_values.py": "no direct test: covered through the files that use it",
    "preflight/genes.py": "no direct test: covered through the files that use it",
    "preflight/recipe_values.py": "no direct test: covered through the files that use it",
    "preflight/sizes.py": "no direct test: covered through the files that use it",
    "run/result.py": "no direct test: covered through the files that use it",
    "service/population_run.py": "no direct test: covered through the files that use it",
    "service/ray_executor.py": "no direct test: covered through the files that use it",
    "service/tensorboard.py": "no direct test: covered through the files that use it",
    "service/tune_progress.py": "no direct test: covered through the files that use it",
    "service/watch.py": "no direct test: covered through the files that use it",
}

#: Test files of the repository rather than of one module.
REPOSITORY_CHECKS = {
    "test_architecture.py": "import rules across the whole package",
    "test_code_shape.py": "line, function and module sizes across the whole package",
    "test_layout.py": "this mirror of modules and test files",
    "test_security.py": "no pickle or eval anywhere, token auth in cluster/, dashboards' interfaces",
    "test_docker.py": "the Dockerfiles in docker/",
    "test_cluster_configs.py": "the cluster configs in cluster/",
    "test_benchmarks.py": "the scripts in benchmarks/",
    "test_regimes.py": "the protocol harness in benchmarks/regimes/",
}

#: tests/end_to_end/: paths through several modules at once, and why each is not one module's.
END_TO_END = {
    "test_bad_input.py": "every refusal through the CLI: preflight, readers and cli together",
    "test_evolve_storage.py": "`gtl-ray evolve` on a Ray of its own over storages that refuse writes",
    "test_exit.py": "the installed `gtl-ray` process exiting cleanly after reading a run",
    "test_faults.py": "members, driver, pool and nodes killed on a real multi-node Ray",
    "test_fuzz.py": "every file gtl_ray reads, mutated at random, through the CLI",
    "test_monitoring.py": "TensorBoard, progress lines and Ray metrics of real runs",
    "test_readme_own_model.py": "the README's code blocks and config fragments",
    "test_recipe_runs.py": "a recipe through evolution, storage, evaluate, descend and inspect",
    "test_report_browser.py": "the report of a real run in headless Chromium",
    "test_report_inputs.py": "report, inspect and the evaluation file on hostile inputs",
    "test_science_options.py": "each option of the science loop through a whole in-process evolution",
    "test_soak.py": "a long run's memory and open files on the session's Ray",
    "test_storage_s3.py": "storage, locations, genes and lineage over a real S3 endpoint",
}


def _has_code(init: Path) -> bool:
    """A package `__init__.py` that defines more than re-exports (a lazy `__getattr__` is one)."""
    tree = ast.parse(init.read_text())
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    return any(name != "__getattr__" for name in defined)


def mirror(module: Path) -> Path:
    """The test file of a module under gtl_ray/."""
    relative = module.relative_to(PACKAGE)
    if module.name == "__init__.py":
        return TESTS / relative.parent / f"test_{relative.parent.name or 'gtl_ray'}.py"
    return TESTS / relative.parent / f"test_{module.stem}.py"


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or _has_code(p))


def test_every_module_has_its_test_file_or_a_reason():
    missing = [str(p.relative_to(PACKAGE)) for p in _modules() if not mirror(p).exists()]
    assert sorted(set(missing) - set(UNTESTED)) == []


def test_the_list_of_untested_modules_holds_no_stale_entry():
    """A listed module exists and has no test file: once it has one, it leaves the list."""
    stale = [name for name in UNTESTED if not (PACKAGE / name).exists() or mirror(PACKAGE / name).exists()]
    assert stale == []


def test_every_test_file_names_a_module_or_says_why_not():
    mirrored = {mirror(p) for p in _modules()}
    others = {TESTS / n for n in REPOSITORY_CHECKS} | {TESTS / "end_to_end" / n for n in END_TO_END}
    test_files = set(TESTS.rglob("test_*.py"))
    assert sorted(str(p.relative_to(TESTS)) for p in test_files - mirrored - others) == []
    assert sorted(str(p.relative_to(TESTS)) for p in others - test_files) == []


def test_every_test_folder_is_a_package():
    """The suite imports its helpers as `tests.helpers`: each folder is a package."""
    folders = {p.parent for p in TESTS.rglob("test_*.py")}
    assert sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists()) == []


def test_the_longest_files_are_named_by_existing_paths():
    """LONGEST_FIRST orders collection by path under tests/: a moved file must be renamed there."""
    assert [name for name in LONGEST_FIRST if not (TESTS / name).is_file()] == []


def test_the_tiny_config_is_built_one_way():
    """`tiny` (in process) and `tiny_overrides` (its strings, for a command line) are the only
    readers of the TINY list: a test that builds its own copy drifts from the others."""
    builders = [p for p in TESTS.rglob("*.py") if p.name != "conftest.py" and "TINY" in p.read_text()]
    assert sorted(str(p.relative_to(TESTS)) for p in builders if p != Path(__file__)) == []
