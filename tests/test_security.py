"""Security properties checked statically: gtl_ray never deserializes with pickle (or evaluates
input), cluster configs keep token auth and hold no credentials, and no dashboard gtl_ray starts
listens on every interface."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gtl_ray"
CLUSTER = ROOT / "cluster"

#: (module alias or None for a builtin, function) calls that unpickle or execute their input.
UNSAFE_CALLS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("pickle", "Unpickler"),
    ("cloudpickle", "load"),
    ("cloudpickle", "loads"),
    ("dill", "load"),
    ("dill", "loads"),
    ("joblib", "load"),
    ("marshal", "loads"),
    ("shelve", "open"),
    ("torch", "load"),
    ("yaml", "unsafe_load"),
    ("yaml", "full_load"),
    (None, "eval"),
    (None, "exec"),
    (None, "compile"),
    (None, "__import__"),
}
SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader"}


def _dotted(node: ast.AST | None) -> tuple[str | None, str] | None:
    """("a.b", "c") for a call of a.b.c, (None, "f") for a bare name; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.insert(0, node.id)
    return (".".join(parts[:-1]) or None), parts[-1]


def unsafe_calls(source: str, filename: str = "<source>") -> list[str]:
    """`file:line: call` for every call in `source` that can deserialize code or execute input:
    UNSAFE_CALLS, numpy load with allow_pickle=True, yaml.load without a safe loader,
    subprocess with shell=True."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call) or (name := _dotted(node.func)) is None:
            continue
        module, function = name
        keywords = {k.arg: k.value for k in node.keywords}
        bad = name in UNSAFE_CALLS
        if function == "load" and module in ("np", "numpy"):
            flag = keywords.get("allow_pickle")
            bad = (
                isinstance(flag, ast.Constant)
                and flag.value is True
                or (flag is not None and not isinstance(flag, ast.Constant))
            )
        if (module, function) == ("yaml", "load"):
            loader = keywords.get("Loader", node.args[1] if len(node.args) > 1 else None)
            bad = loader is None or (_dotted(loader) or (None, ""))[1] not in SAFE_YAML_LOADERS
        if (
            module == "subprocess"
            and isinstance(keywords.get("shell"), ast.Constant)
            and keywords["shell"].value is True
        ):
            bad = True
        if bad:
            found.append(f"{filename}:{node.lineno}: {module + '.' if module else ''}{function}(...)")
    return found


def package_sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_scanner_catches_every_kind_of_unsafe_call():
    planted = "\n".join(
        [
            "import pickle, torch, yaml, numpy as np, subprocess, cloudpickle",
            "pickle.loads(b)",
            "cloudpickle.load(f)",
            "torch.load(path)",
            "np.load(path, allow_pickle=True)",
            "eval(text)",
            "exec(text)",
            "yaml.load(text)",
            "yaml.load(text, Loader=yaml.Loader)",
            "subprocess.run(cmd, shell=True)",
        ]
    )
    assert len(unsafe_calls(planted)) == 9
    harmless = "\n".join(
        [
            "import yaml, numpy as np, re",
            "yaml.safe_load(t)",
            "yaml.load(t, Loader=yaml.SafeLoader)",
            "np.load(p)",
            "np.load(p, allow_pickle=False)",
            "re.compile('x')",
            "model.eval()",
        ]
    )
    assert unsafe_calls(harmless) == []


def test_package_never_unpickles_or_evaluates_input():
    findings = [
        hit for path in package_sources() for hit in unsafe_calls(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert not findings, findings


def test_no_pickle_imports_in_the_package():
    """Belt and braces: not even an import of a pickle-based loader (Ray pickles internally
    between the cluster's own processes; gtl_ray files are safetensors, Parquet and JSON)."""
    pattern = re.compile(r"^\s*(import|from)\s+(pickle|cloudpickle|dill|joblib|marshal|shelve)\b", re.M)
    findings = [str(p.relative_to(ROOT)) for p in package_sources() if pattern.search(p.read_text())]
    assert not findings, findings


# ---------------------------------------------------------------- dashboard binding


def test_gtl_ray_never_binds_a_dashboard_to_all_interfaces():
    """No `dashboard_host=` anywhere in gtl_ray (so ray.init keeps its default) and no 0.0.0.0."""
    findings = []
    for path in package_sources():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg in ("dashboard_host", "host"):
                findings.append(f"{path.relative_to(ROOT)}:{node.value.lineno}: {node.arg}=")
            if isinstance(node, ast.Constant) and node.value in ("0.0.0.0", "::"):
                findings.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not findings, findings


def test_ray_init_default_dashboard_host_is_loopback():
    """What `RayCluster.connect()` (ray.init without dashboard_host) and the CLI get: the
    loopback address."""
    import ray

    from gtl_ray.service.capacity import RayCluster

    default = inspect.signature(ray.init).parameters["dashboard_host"].default
    assert default in ("127.0.0.1", "localhost"), default
    assert "ray.init(" in inspect.getsource(RayCluster.connect) and "dashboard_host" not in inspect.getsource(
        RayCluster.connect
    )


# ---------------------------------------------------------------- cluster configs

AUTH_DISABLED = re.compile(r"RAY_AUTH_MODE\s*[=:]\s*[\"']?disabled", re.I)
CREDENTIALS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"aws_secret_access_key\s*[=:]\s*\S", re.I),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "GCP service-account key": re.compile(r"\"private_key(_id)?\"\s*:"),
    "inline Ray token": re.compile(r"RAY_AUTH_TOKEN\s*[=:]\s*[\"']?[0-9a-fA-F]{16,}"),
}


def cluster_files() -> list[Path]:
    """Every file under cluster/ (the repo ships launcher configs and KubeRay manifests there)."""
    files = sorted(p for p in CLUSTER.rglob("*") if p.is_file())
    assert files, "cluster/ holds no files"
    return files


def test_credential_patterns_fire_on_samples():
    samples = {
        "AWS access key id": "key: AKIA" + "ABCDEFGHIJKLMNOP",
        "AWS secret key": "aws_secret_access_key = abc",
        "private key": "-----BEGIN OPENSSH " + "PRIVATE KEY-----",
        "GCP service-account key": '{"private_key": "-----"}',
        "inline Ray token": "RAY_AUTH_TOKEN=" + "0123456789abcdef" * 2,
    }
    for kind, sample in samples.items():
        assert CREDENTIALS[kind].search(sample), kind
    assert AUTH_DISABLED.search("RAY_AUTH_MODE=disabled ray start") and not AUTH_DISABLED.search("RAY_AUTH_MODE=token")


def test_cluster_configs_hold_no_credentials_and_never_disable_auth():
    findings = []
    for path in cluster_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{number}"
            findings += [f"{where}: {kind}" for kind, pattern in CREDENTIALS.items() if pattern.search(line)]
            if AUTH_DISABLED.search(line):
                findings.append(f"{where}: token auth disabled")
    assert not findings, findings


def test_launcher_configs_start_every_node_with_token_auth_and_a_loopback_dashboard():
    import yaml

    launchers = [p for p in cluster_files() if p.suffix in (".yaml", ".yml") and "kuberay" not in p.parts]
    assert launchers, "cluster/ holds no launcher configs"
    for path in launchers:
        config = yaml.safe_load(path.read_text())
        for key in ("head_start_ray_commands", "worker_start_ray_commands"):
            commands = " ".join(config.get(key) or [])
            assert "ray start" in commands, f"{path.name}: {key} starts no Ray"
            assert commands.count("RAY_AUTH_MODE=token") >= commands.count("ray start"), (
                f"{path.name}: {key}: a `ray start` without RAY_AUTH_MODE=token"
            )
        head = " ".join(config.get("head_start_ray_commands") or [])
        host = re.search(r"--dashboard-host[= ](\S+)", head)
        assert host is None or host.group(1) in ("127.0.0.1", "localhost"), (
            f"{path.name}: dashboard bound to {host.group(1)}"
        )


def test_kuberay_manifests_turn_token_auth_on():
    manifests = [p for p in cluster_files() if "kuberay" in p.parts and p.suffix in (".yaml", ".yml")]
    assert manifests, "cluster/kuberay holds no manifests"
    for path in manifests:
        text = path.read_text()
        assert re.search(r"authOptions:\s*\n\s*mode:\s*token", text) or "RAY_AUTH_MODE" in text, (
            f"{path.name}: no token auth"
        )
