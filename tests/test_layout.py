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

#: Modules without a test file of their own, and why: reached only through another module's entry
#: point, or tested where the concern they serve is (the file named).
UNTESTED = {
    "__main__.py": "the entry point `python -m gtl_ray`, run by tests/test_cli.py",
    "commands/gene_commands.py": "only through cli.main: its commands run by tests/test_cli.py and end_to_end/",
    "commands/parser.py": "the argument parser, exercised by every command in tests/test_cli.py",
    "commands/read_commands.py": "only through cli.main: `inspect`/`report` in tests/test_cli.py, test_report.py",
    "commands/run_commands.py": "reached only through cli.main: `evolve`/`evaluate`/`descend` in tests/test_cli.py",
    "config/evaluation_sections.py": "dataclass sections: read and refused key by key in tests/config/test_reading.py",
    "config/run_sections.py": "dataclass sections: read and refused key by key in tests/config/test_reading.py",
    "data/fonts.py": "the glyphs source's fonts: tests/data/test_glyphs.py tests both",
    "data/glyph_catalogue.py": "the glyphs source's characters: tests/data/test_glyphs.py tests both",
    "data/procedural_primitives.py": "the procedural source's drawing: tests/data/test_procedural.py",
    "descend.py": "`gtl-ray descend`: tests/test_cli.py and end_to_end/test_recipe_runs.py",
    "evaluation/episodes.py": "one episode of every method: tests/evaluation/test_runner.py",
    "evaluation/objectives.py": "the AFT baseline's regularizer: tests/evaluation/test_methods.py",
    "evaluation/pretrain.py": "the baselines' teachers: evaluation/test_methods.py, end_to_end/test_science_options.py",
    "evaluation/recipe_search.py": "service/test_recipe_tuning.py and end_to_end/test_recipe_runs.py",
    "evaluation/results_file.py": "hostile evaluation files: end_to_end/test_report_inputs.py and test_fuzz.py",
    "evaluation/sources.py": "the baselines' sources: tests/evaluation/test_methods.py",
    "evolution/fitness.py": "descendant and instinct fitness: end_to_end/test_science_options.py",
    "evolution/initial.py": "generation 0's gene (random, narrow, pre-trained): end_to_end/test_science_options.py",
    "evolution/member_life.py": "one member's life: tests/evolution/test_generation.py and test_strategy.py",
    "fewshot.py": "descendants on episodes: tests/evaluation/test_runner.py, test_methods.py and test_finetune.py",
    "inspection.py": "`gtl-ray inspect`: tests/test_report.py, end_to_end/test_recipe_runs.py and test_exit.py",
    "learngene/channels.py": "the random_slice baseline's channels: tests/evaluation/test_methods.py",
    "learngene/surgery.py": "cutting and implanting tensors: tests/learngene/test_units.py and test_gene.py",
    "learngene/transfer.py": "the full and sparse baselines: tests/evaluation/test_methods.py",
    "learngene/transplant.py": "extract_learngene / implant: tests/learngene/test_gene.py (round trips, layer maps)",
    "model_card.py": "the card of `gtl-ray export`: tests/test_export.py",
    "models/stacked.py": "K networks as one: tests/test_training_vectorized.py",
    "preflight/__init__.py": "load_config: tests/config/test_reading.py and tests/preflight/test_values.py",
    "preflight/data_fit.py": "data that cannot hold an environment: end_to_end/test_bad_input.py",
    "preflight/evaluation_values.py": "evaluation keys refused by name: tests/config/test_reading.py",
    "preflight/genes.py": "a gene too wide for its descendant: tests/learngene/test_fit.py",
    "preflight/recipe_values.py": "evolution.recipe refused by name: tests/test_recipe.py",
    "preflight/sizes.py": "fitness sizes, extra layers, episode seed refused by name: tests/config/test_reading.py",
    "run/result.py": "open_run and RunResult: tests/test_api.py",
    "service/population_run.py": "the Tune wiring of a run on Ray: tests/service/test_run.py",
    "service/ray_executor.py": "Ray tasks equal to in-process: tests/evaluation/test_runner.py",
    "service/tensorboard.py": "the population's curves: end_to_end/test_monitoring.py",
    "service/tune_progress.py": "the live progress lines: end_to_end/test_monitoring.py",
    "service/watch.py": "a dying pool or a member without room stops the run: end_to_end/test_faults.py",
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
