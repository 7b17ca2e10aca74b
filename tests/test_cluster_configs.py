"""Cluster configs (cluster/), checked offline: Ray's own launcher validation first, then what only
gtl_ray knows.

Validated by Ray's code (the installed ray package, no cloud call):
  `prepare_config` merges the provider's defaults.yaml shipped in the ray package and fills each node
  type's min/max workers; `validate_config` checks the result against ray/autoscaler/ray-schema.json
  (unknown keys refused) and its cross-field rules (head_node_type exists, sum of min_workers <=
  max_workers). Neither talks to AWS or GCP: the provider bootstrap that resolves AMIs, subnets, key
  pairs and service accounts runs only inside `ray up`, so it is not called here.

Hand-written here: the head advertises no CPU/GPU; worker types hold members of every GPU config in
configs/ and, within max_workers, the whole demand of the paper configs (gtl_ray.service.capacity);
advertised resources match the instance types; every default command of defaults.yaml is replaced;
token auth on and the dashboard on 127.0.0.1; image tags match pyproject; no secrets.

KubeRay: no PyPI package we could find ships the ray.io/v1 RayCluster / RayJob CRD schemas (not ray,
codeflare-sdk or dagster-ray), so their fields are checked one by one below; the pod templates inside
them are validated against Kubernetes' own v1 PodTemplate schema (strict: unknown fields refused)
from the `kubernetes-validate` package, when installed.

cluster/README.md's table of GPU demand is checked against the configs and `total_demand`.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "cluster"
LAUNCHER_CONFIGS = ("aws.yaml", "gcp.yaml")
KUBERAY_MANIFESTS = ("kuberay/raycluster.yaml", "kuberay/rayjob.yaml")
PAPER_CONFIGS = ("cifar_fs_vgg11.yaml", "miniimagenet_resnet12.yaml")
TOKEN_FILE = "~/.ray/auth_token"
KUBERNETES_VERSION = "1.30.0"  #: PodTemplate schema version the manifests are validated against

#: vCPUs and GPUs of the instance types the launcher configs may use, to catch `resources` that no
#: longer match an edited instance type (the autoscaler plans with `resources`, not the hardware).
HARDWARE = {
    # AWS
    "m5.2xlarge": (8, 0),
    "g5.xlarge": (4, 1),
    "g5.2xlarge": (8, 1),
    "g5.12xlarge": (48, 4),
    "g5.48xlarge": (192, 8),
    "p4d.24xlarge": (96, 8),
    # GCP
    "n2-standard-8": (8, 0),
    "g2-standard-8": (8, 1),
    "g2-standard-96": (96, 8),
    "a2-highgpu-1g": (12, 1),
    "a2-highgpu-8g": (96, 8),
}

SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_secret_access_key\s*[:=]"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "GCP service account key": re.compile(r'"private_key(?:_id)?"\s*:'),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    "inline credential": re.compile(
        r"(?i)\b(?:token|secret|password|passwd|api[_-]?key)\b[\"']?\s*[:=]\s*[\"']?(?!<)[A-Za-z0-9+/_\-.=]{16,}"
    ),
}
AUTH_DISABLED = re.compile(r"(?i)RAY_AUTH_MODE[\"']?\s*[:=]\s*[\"']?disabled|mode:\s*[\"']?disabled")


# ---------------------------------------------------------------- helpers


def _pyproject() -> dict[str, str]:
    """The gtl_ray version and the exact Ray version pinned in pyproject.toml."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (ray_pin,) = [re.fullmatch(r"ray\[[^\]]*\]==([\d.]+)", d) for d in project["dependencies"] if d.startswith("ray[")]
    return {"version": project["version"], "ray": ray_pin.group(1)}


@functools.lru_cache(maxsize=None)
def _raw(name: str) -> Any:
    return yaml.safe_load((CLUSTER / name).read_text())


def _prepare(raw: dict[str, Any]) -> dict[str, Any]:
    """A launcher config as Ray prepares it for `ray up` (defaults merged, node types filled)."""
    from ray.autoscaler._private.util import prepare_config

    return prepare_config(copy.deepcopy(raw))


def _launcher(name: str) -> dict[str, Any]:
    return _prepare(_raw(name))


def _gpu_types(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: t for name, t in config["available_node_types"].items() if t["resources"].get("GPU", 0) > 0}


def _instance_type(node_type: dict[str, Any]) -> str:
    node_config = node_type["node_config"]
    return node_config.get("InstanceType") or node_config["machineType"]


def _members_per_node(cpus: float, gpus: float, member: dict[str, float]) -> int:
    """How many member bundles fit on one node (both CPU and GPU must fit)."""
    fits = [cpus / member["CPU"]]
    if member.get("GPU", 0) > 0:
        fits.append(gpus / member["GPU"])
    return math.floor(min(fits) + 1e-9)


@functools.lru_cache(maxsize=None)
def _gtl_config(name: str):
    """configs/<name> through gtl_ray's own loader (a config the repo ships: missing is a failure)."""
    from gtl_ray.preflight import load_config

    path = ROOT / "configs" / name
    assert path.is_file(), f"configs/{name} is missing"
    return load_config(path)


def _demand(name: str) -> tuple[Any, dict[str, float], dict[str, float]]:
    """(config, one member's bundle, the run's total demand) for configs/<name>."""
    config = _gtl_config(name)  # skips first if the config or gtl_ray is not there yet
    from gtl_ray.preflight.room import member_resources, total_demand

    return config, member_resources(config), total_demand(config)


def _gpu_configs() -> list[str]:
    """Every config in configs/ whose members ask for a GPU (the paper configs at least)."""
    present = {p.name for p in (ROOT / "configs").glob("*.yaml")}
    names = sorted(present - set(PAPER_CONFIGS))
    gpu = [
        n
        for n in names
        if (yaml.safe_load((ROOT / "configs" / n).read_text()) or {}).get("population", {}).get("gpus_per_member", 0)
    ]
    return list(PAPER_CONFIGS) + gpu


def _image_version(image: str, flavour: str) -> str:
    match = re.fullmatch(r".+/gtl-ray:(\d+\.\d+\.\d+)-(gpu|cpu)", image)
    assert match, f"image {image!r} is not <registry>/gtl-ray:<version>-<gpu|cpu>"
    assert match.group(2) == flavour, f"image {image!r}: expected the -{flavour} image here"
    return match.group(1)


def _scan_files() -> list[Path]:
    files = [p for p in CLUSTER.rglob("*") if p.is_file()]
    files += [p for p in (ROOT / "docker").rglob("*") if p.is_file()]
    files.append(ROOT / ".dockerignore")
    return [p for p in files if p.exists()]


# ---------------------------------------------------------------- launcher: Ray's own validation


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_launcher_config_passes_ray_validation(name: str) -> None:
    from ray.autoscaler._private.util import validate_config

    validate_config(_launcher(name))


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
@pytest.mark.parametrize("where", ["node_type", "top_level"])
def test_ray_validation_refuses_unknown_keys(name: str, where: str) -> None:
    import jsonschema
    from ray.autoscaler._private.util import validate_config

    raw = copy.deepcopy(_raw(name))
    target = raw["available_node_types"]["gpu_1x"] if where == "node_type" else raw
    target["bogus"] = 1
    with pytest.raises(jsonschema.ValidationError, match="bogus"):
        validate_config(_prepare(raw))


# ---------------------------------------------------------------- launcher: gtl_ray's requirements


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_head_advertises_no_cpu_and_no_gpu(name: str) -> None:
    config = _launcher(name)
    head = config["available_node_types"][config["head_node_type"]]
    assert head["resources"].get("GPU") == 0, "the head must advertise GPU: 0"
    assert head["resources"].get("CPU") == 0, "the head must advertise CPU: 0 so no member lands on it"
    assert head["max_workers"] == 0


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_worker_types_start_at_zero_and_match_their_hardware(name: str) -> None:
    config = _launcher(name)
    gpu_counts = set()
    for type_name, node_type in config["available_node_types"].items():
        instance = _instance_type(node_type)
        assert instance in HARDWARE, f"{name}:{type_name}: add {instance} to HARDWARE in this test"
        vcpus, gpus = HARDWARE[instance]
        advertised = node_type["resources"]
        assert advertised.get("CPU", 0) <= vcpus, f"{name}:{type_name}: advertises more CPUs than {instance} has"
        if type_name == config["head_node_type"]:
            continue
        assert node_type["min_workers"] == 0, f"{name}:{type_name}: workers must start at zero"
        assert node_type["max_workers"] >= 1
        assert advertised.get("GPU", 0) == gpus, f"{name}:{type_name}: {instance} has {gpus} GPUs"
        accelerators = node_type["node_config"].get("guestAccelerators")
        if accelerators is not None:
            assert sum(a["acceleratorCount"] for a in accelerators) == gpus
        if gpus:
            gpu_counts.add(gpus)
    assert {1, 8} <= gpu_counts, f"{name}: wants a 1-GPU and an 8-GPU worker type, has {sorted(gpu_counts)}"


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
@pytest.mark.parametrize("gtl", _gpu_configs())
def test_each_gpu_worker_type_holds_a_member(name: str, gtl: str) -> None:
    _, member, _ = _demand(gtl)
    for type_name, node_type in _gpu_types(_launcher(name)).items():
        resources = node_type["resources"]
        assert resources["GPU"] >= member["GPU"], f"{name}:{type_name} cannot hold a {gtl} member {member}"
        assert resources["CPU"] >= member["CPU"], f"{name}:{type_name} cannot hold a {gtl} member {member}"


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
@pytest.mark.parametrize("gtl", PAPER_CONFIGS)
def test_each_gpu_worker_type_can_hold_a_whole_paper_population(name: str, gtl: str) -> None:
    gtl_config, member, total = _demand(gtl)
    config = _launcher(name)
    for type_name, node_type in _gpu_types(config).items():
        nodes = min(node_type["max_workers"], config["max_workers"])
        resources = node_type["resources"]
        assert nodes * resources["GPU"] >= total["GPU"], (
            f"{name}:{type_name}: {nodes} nodes x {resources['GPU']} GPUs < {total['GPU']} GPUs of {gtl}"
        )
        per_node = _members_per_node(resources["CPU"], resources["GPU"], member)
        size = gtl_config.population.size
        assert nodes * per_node >= size, f"{name}:{type_name}: room for {nodes * per_node} of {size} members"


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_default_commands_are_all_replaced(name: str) -> None:
    """defaults.yaml installs a nightly Ray wheel and binds the dashboard to 0.0.0.0; none of it may
    survive the merge, and every `ray start` runs with token auth."""
    config = _launcher(name)
    keys = (
        "initialization_commands",
        "setup_commands",
        "head_setup_commands",
        "worker_setup_commands",
        "head_start_ray_commands",
        "worker_start_ray_commands",
    )
    commands = [c for key in keys for c in config[key]]
    for command in commands:
        assert "ray-wheels" not in command and "dev0" not in command, f"{name}: default command left: {command}"
        assert "0.0.0.0" not in command, f"{name}: {command}"
        if "ray start" in command:
            assert "RAY_AUTH_MODE=token ray start" in command, f"{name}: ray start without token auth: {command}"
    (head_start,) = [c for c in config["head_start_ray_commands"] if "ray start" in c]
    assert "--dashboard-host=127.0.0.1" in head_start
    assert any("pip install" in c and "--no-deps" in c for c in config["setup_commands"]), (
        f"{name}: setup_commands must install gtl_ray without touching the image's dependencies"
    )


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_token_auth_reaches_every_node(name: str) -> None:
    config = _launcher(name)
    assert config["file_mounts"].get(TOKEN_FILE) == TOKEN_FILE, f"{name}: mount the local token on every node"
    assert "--env RAY_AUTH_MODE=token" in config["docker"]["run_options"]


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_launcher_images_match_pyproject(name: str) -> None:
    version = _pyproject()["version"]
    config = _launcher(name)
    docker = config["docker"]
    assert _image_version(docker["head_image"], "cpu") == version
    assert _image_version(docker["worker_image"], "gpu") == version
    assert _image_version(docker["image"], "gpu") == version
    for type_name, node_type in config["available_node_types"].items():
        image = node_type.get("docker", {}).get("worker_image")
        if image:
            flavour = "gpu" if node_type["resources"].get("GPU", 0) else "cpu"
            assert _image_version(image, flavour) == version, f"{name}:{type_name}"


# ---------------------------------------------------------------- everything under cluster/ and docker/


def test_secret_patterns_catch_secrets() -> None:
    """The scan below is not vacuous: each pattern fires on a made-up secret of its kind."""
    samples = {
        "AWS access key id": "AKIA" + "Q" * 16,
        "AWS secret access key": "aws_secret_access_key = x",
        "private key": "-----BEGIN RSA " + "PRIVATE KEY-----",
        "GCP service account key": '{"private_key": "x"}',
        "GitHub token": "ghp_" + "a1" * 18,
        "inline credential": "token: " + "f3" * 16,
    }
    for kind, sample in samples.items():
        assert SECRET_PATTERNS[kind].search(sample), kind
    assert not SECRET_PATTERNS["inline credential"].search("token: <your-token>")


def test_no_secrets_under_cluster_and_docker() -> None:
    findings = []
    for path in _scan_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            findings += [
                f"{path.relative_to(ROOT)}:{number}: {kind}" for kind, p in SECRET_PATTERNS.items() if p.search(line)
            ]
    assert not findings, findings


def test_token_auth_is_never_disabled() -> None:
    findings = []
    for path in _scan_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if AUTH_DISABLED.search(line):
                findings.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not findings, findings


# ---------------------------------------------------------------- KubeRay


def _manifest(name: str) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all((CLUSTER / name).read_text()) if d is not None]
    assert len(docs) == 1, f"{name}: one object per file"
    return docs[0]


def _groups(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, group) for the head and every worker group of a RayClusterSpec."""
    return [("head", spec["headGroupSpec"])] + [(g["groupName"], g) for g in spec["workerGroupSpecs"]]


def _ray_container(group: dict[str, Any]) -> dict[str, Any]:
    return group["template"]["spec"]["containers"][0]  # KubeRay's Ray container is the first


def _gpu_limit(group: dict[str, Any]) -> int:
    return int(_ray_container(group).get("resources", {}).get("limits", {}).get("nvidia.com/gpu", 0))


def _cpu_quantity(value: str | int) -> float:
    text = str(value)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _cluster_specs() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("raycluster.yaml", _manifest("kuberay/raycluster.yaml")["spec"]),
        ("rayjob.yaml", _manifest("kuberay/rayjob.yaml")["spec"]["rayClusterSpec"]),
    ]


@pytest.mark.parametrize("name", KUBERAY_MANIFESTS)
def test_kuberay_manifest_parses(name: str) -> None:
    manifest = _manifest(name)
    assert manifest["apiVersion"] == "ray.io/v1"
    assert manifest["kind"] in ("RayCluster", "RayJob")
    assert manifest["metadata"]["name"]


@pytest.mark.parametrize("which", [0, 1], ids=["raycluster", "rayjob"])
def test_ray_cluster_spec(which: int) -> None:
    name, spec = _cluster_specs()[which]
    pins = _pyproject()
    assert spec["rayVersion"] == pins["ray"], f"{name}: rayVersion must equal the ray pin in pyproject.toml"
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] > 0
    assert spec["authOptions"]["mode"] == "token", f"{name}: token auth must be on"
    head = spec["headGroupSpec"]
    assert head["rayStartParams"]["num-gpus"] == "0" and head["rayStartParams"]["num-cpus"] == "0"
    assert _gpu_limit(head) == 0
    assert head.get("serviceType", "ClusterIP") == "ClusterIP", f"{name}: do not expose the dashboard"
    assert _image_version(_ray_container(head)["image"], "cpu") == pins["version"]

    workers = spec["workerGroupSpecs"]
    assert len({g["groupName"] for g in workers}) == len(workers)
    assert any(_gpu_limit(g) > 0 for g in workers), f"{name}: no GPU worker group"
    for group_name, group in _groups(spec)[1:]:
        assert group["minReplicas"] == 0, f"{name}:{group_name}: workers must start at zero"
        assert group.get("replicas", 0) == 0
        assert isinstance(group["maxReplicas"], int) and group["maxReplicas"] >= 1
        params = group["rayStartParams"]
        container = _ray_container(group)
        limits, requests = container["resources"]["limits"], container["resources"]["requests"]
        assert _gpu_limit(group) == int(params.get("num-gpus", "0")), (
            f"{name}:{group_name}: nvidia.com/gpu limit must equal rayStartParams num-gpus"
        )
        assert int(requests.get("nvidia.com/gpu", 0)) == _gpu_limit(group)
        assert _cpu_quantity(limits["cpu"]) >= float(params["num-cpus"]), f"{name}:{group_name}"
        flavour = "gpu" if _gpu_limit(group) else "cpu"
        assert _image_version(container["image"], flavour) == pins["version"], f"{name}:{group_name}"


@pytest.mark.parametrize("which", [0, 1], ids=["raycluster", "rayjob"])
def test_no_inline_token_in_pod_templates(which: int) -> None:
    name, spec = _cluster_specs()[which]
    for group_name, group in _groups(spec):
        for container in group["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                if env["name"] in ("RAY_AUTH_TOKEN", "RAY_AUTH_MODE"):
                    assert env["name"] != "RAY_AUTH_TOKEN" or "secretKeyRef" in env.get("valueFrom", {}), (
                        f"{name}:{group_name}: RAY_AUTH_TOKEN must come from a Secret"
                    )
                    assert env.get("value") != "disabled"


@pytest.mark.parametrize("which", [0, 1], ids=["raycluster", "rayjob"])
@pytest.mark.parametrize("gtl", PAPER_CONFIGS)
def test_kuberay_gpu_groups_hold_the_paper_populations(which: int, gtl: str) -> None:
    name, spec = _cluster_specs()[which]
    config, member, total = _demand(gtl)
    for group_name, group in _groups(spec)[1:]:
        gpus = _gpu_limit(group)
        if not gpus:
            continue
        cpus = float(group["rayStartParams"]["num-cpus"])
        assert gpus >= member["GPU"] and cpus >= member["CPU"], f"{name}:{group_name} cannot hold a {gtl} member"
        assert group["maxReplicas"] * gpus >= total["GPU"], f"{name}:{group_name}: too few GPUs for {gtl}"
        room = group["maxReplicas"] * _members_per_node(cpus, gpus, member)
        assert room >= config.population.size, f"{name}:{group_name}: room for {room} members of {gtl}"


@pytest.mark.parametrize("which", [0, 1], ids=["raycluster", "rayjob"])
def test_pod_templates_pass_kubernetes_schema(which: int) -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate not installed (add it to the dev extras)"
    )
    name, spec = _cluster_specs()[which]
    for group_name, group in _groups(spec):
        pod_template = {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": f"{name}-{group_name}"},
            "template": group["template"],
        }
        try:
            kubernetes_validate.validate(pod_template, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}:{group_name}: {exc}")


def test_kubernetes_schema_check_refuses_a_typo() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    _, spec = _cluster_specs()[0]
    template = copy.deepcopy(spec["headGroupSpec"]["template"])
    template["spec"]["containers"][0]["resource"] = {}  # "resources" misspelled
    with pytest.raises(kubernetes_validate.ValidationError, match="resource"):
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": template},
            KUBERNETES_VERSION,
            strict=True,
        )


def test_rayjob_runs_gtl_ray_and_cleans_up() -> None:
    job = _manifest("kuberay/rayjob.yaml")
    spec = job["spec"]
    assert job["kind"] == "RayJob"
    entrypoint = spec["entrypoint"]
    assert entrypoint.startswith("gtl-ray evolve configs/quickstart.yaml")
    # KubeRay pastes the entrypoint into a shell command and Ray runs it through a shell again.
    assert not re.search(r"[<>&;|$`]", entrypoint), f"entrypoint needs no shell syntax: {entrypoint}"
    assert "--storage" in entrypoint, "the cluster is deleted after the run: results must go to a bucket"
    assert (ROOT / entrypoint.split()[2]).is_file(), f"{entrypoint.split()[2]} does not exist"
    (paper,) = re.findall(
        r"^  # entrypoint: (gtl-ray evolve configs/cifar_fs_vgg11\.yaml.*)$",
        (CLUSTER / "kuberay/rayjob.yaml").read_text(),
        re.M,
    )
    # the paper config's data.path is a placeholder: the entrypoint must name the data and a bucket
    assert "--set data.path=s3://" in paper and "--storage s3://" in paper and not re.search(r"[<>&;|$`]", paper), paper
    assert "rayClusterSpec" in spec or "clusterSelector" in spec
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec.get("submissionMode", "K8sJobMode") == "K8sJobMode"
    # configs/ resolves because the job runs in the image's WORKDIR, which holds them.
    working_dir = yaml.safe_load(spec["runtimeEnvYAML"])["working_dir"]
    workdir = re.search(r"^WORKDIR (\S+)", (ROOT / "docker/Dockerfile.cpu").read_text(), re.M).group(1)
    assert working_dir == workdir


# ---------------------------------------------------------------- README


def _demand_table() -> dict[str, list[str]]:
    text = (CLUSTER / "README.md").read_text()
    body = re.search(r"<!-- demand-table: begin -->(.*?)<!-- demand-table: end -->", text, re.S).group(1)
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in body.strip().splitlines()]
    return {row[0]: row[1:] for row in rows[2:]}  # after the header and the --- line


@pytest.mark.parametrize("gtl", PAPER_CONFIGS)
def test_readme_demand_table_matches_total_demand(gtl: str) -> None:
    config, member, total = _demand(gtl)
    row = _demand_table().get(f"configs/{gtl}")
    assert row, f"cluster/README.md: add a demand-table row for configs/{gtl}"
    size = config.population.size
    per_node = {gpus: math.floor(gpus / member["GPU"] + 1e-9) for gpus in (1, 8)}
    expected = [size, member["GPU"], total["GPU"], math.ceil(size / per_node[1]), math.ceil(size / per_node[8])]
    assert [float(cell) for cell in row] == expected, (
        f"cluster/README.md row for configs/{gtl} should read {' | '.join(f'{v:g}' for v in expected)}"
    )


def test_readme_arithmetic_and_paths() -> None:
    text = (CLUSTER / "README.md").read_text()
    for members, share, gpus in re.findall(r"(\d+) members x ([\d.]+) GPU = (\d+) GPUs", text):
        assert int(members) * float(share) == float(gpus), f"README: {members} x {share} != {gpus}"
    for path in set(re.findall(r"\b((?:cluster|docker)/[\w./-]+\.(?:yaml|gpu|cpu))\b", text)):
        assert (ROOT / path).is_file(), f"README names {path}, which does not exist"
