"""Static checks of the deployment files under deploy/ (no container engine or cluster needed)."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from voice.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
CONTAINERFILE = DEPLOY / "Containerfile"
COMPOSE = DEPLOY / "compose.yaml"
KUSTOMIZATION = K8S / "kustomization.yaml"
SECRET_EXAMPLE = K8S / "secret.example.yaml"

NAMESPACE = "voice"
SECRET_NAMES = (
    "VOICE_SECRET_KEY",
    "VOICE_PII_KEYS",
    "VOICE_BLIND_INDEX_KEY",
    "VOICE_AUDIT_CHECKPOINT_KEY",
    "VOICE_OIDC_CLIENT_SECRET",
)
# Secrets only the API holds: the bounce mailbox's token.
API_SECRET_NAMES = ("VOICE_BOUNCE_TOKEN",)
ALL_SECRET_NAMES = SECRET_NAMES + API_SECRET_NAMES
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}
VOICE_SERVICES = ("migrate", "api", "worker")


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in {".yaml", ".yml"})


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _load(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def _manifest_files() -> list[Path]:
    """Every Kubernetes manifest file, i.e. everything under deploy/k8s but the kustomization."""
    return [
        p for p in _yaml_files(K8S) if p.name not in {"kustomization.yaml", "kustomization.yml"}
    ]


def _objects(*, include_example: bool = True) -> list[tuple[Path, dict[str, Any]]]:
    found: list[tuple[Path, dict[str, Any]]] = []
    for path in _manifest_files():
        if path == SECRET_EXAMPLE and not include_example:
            continue
        for doc in _load(path):
            assert isinstance(doc, dict), f"{_rel(path)}: a document is not a mapping"
            found.append((path, doc))
    return found


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    kind = obj.get("kind")
    if kind not in WORKLOAD_KINDS:
        return None
    spec: dict[str, Any] = obj["spec"]
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    pod = _pod_spec(obj)
    if pod is None:
        return []
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _workload(name: str) -> dict[str, Any]:
    for _, obj in _objects():
        if obj.get("kind") in WORKLOAD_KINDS and obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(f"no workload named {name!r} under deploy/k8s")


def _compose() -> dict[str, Any]:
    docs = _load(COMPOSE)
    assert len(docs) == 1
    doc = docs[0]
    assert isinstance(doc, dict)
    return doc


def _compose_argv(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    if isinstance(command, str):
        return shlex.split(command)
    assert isinstance(command, list)
    return [str(part) for part in command]


def _compose_env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        pairs = (str(item).partition("=") for item in env)
        return {key: value for key, _, value in pairs}
    assert isinstance(env, dict)
    return {str(key): str(value) for key, value in env.items()}


def _containerfile_lines() -> list[str]:
    """Logical Containerfile lines: comments dropped, backslash continuations joined."""
    lines: list[str] = []
    pending = ""
    for raw in CONTAINERFILE.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def _instructions(name: str) -> list[str]:
    prefix = name.upper() + " "
    return [
        line[len(prefix) :].strip() for line in _containerfile_lines() if line.startswith(prefix)
    ]


def _is_voice_command(argv: list[str]) -> bool:
    """True for the real CLI forms only, as the CLI's own parser reads them: serve (the API
    alone, on port 8000), worker, db upgrade."""
    if argv in (["voice", "worker"], ["voice", "db", "upgrade"]):
        return True
    if argv[:2] != ["voice", "serve"]:
        return False
    try:
        args = build_parser().parse_args(argv[1:])
    except SystemExit:
        return False
    return bool(args.no_worker) and args.port == 8000 and not args.demo


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _required_interpolation(name: str) -> re.Pattern[str]:
    return re.compile(r"^\$\{" + re.escape(name) + r":\?[^}]*\}$")


# --- every file parses ---------------------------------------------------------------------


def test_deploy_folder_has_the_expected_files() -> None:
    expected = {
        "Containerfile",
        "compose.yaml",
        "README.md",
        "k8s/namespace.yaml",
        "k8s/configmap.yaml",
        "k8s/secret.example.yaml",
        "k8s/api-deployment.yaml",
        "k8s/api-service.yaml",
        "k8s/worker-deployment.yaml",
        "k8s/migrate-job.yaml",
        "k8s/hpa.yaml",
        "k8s/pdb.yaml",
        "k8s/networkpolicy.yaml",
        "k8s/kustomization.yaml",
    }
    present = {p.relative_to(DEPLOY).as_posix() for p in DEPLOY.rglob("*") if p.is_file()}
    assert expected <= present, f"missing: {sorted(expected - present)}"


@pytest.mark.parametrize("path", _yaml_files(DEPLOY), ids=_rel)
def test_yaml_parses(path: Path) -> None:
    docs = _load(path)
    assert docs, f"{_rel(path)} holds no YAML document"
    for doc in docs:
        assert isinstance(doc, dict), f"{_rel(path)}: a document is not a mapping"


# --- Kubernetes objects ----------------------------------------------------------------------


@pytest.mark.parametrize("path", _manifest_files(), ids=_rel)
def test_k8s_objects_are_named_and_namespaced(path: Path) -> None:
    for obj in _load(path):
        assert isinstance(obj.get("apiVersion"), str), f"{_rel(path)}: apiVersion"
        assert isinstance(obj.get("kind"), str), f"{_rel(path)}: kind"
        metadata = obj.get("metadata")
        assert isinstance(metadata, dict), f"{_rel(path)}: metadata"
        assert isinstance(metadata.get("name"), str), f"{_rel(path)}: metadata.name"
        assert metadata["name"], f"{_rel(path)}: metadata.name is empty"
        if obj["kind"] == "Namespace":
            assert metadata["name"] == NAMESPACE
        else:
            assert metadata.get("namespace") == NAMESPACE, (
                f"{_rel(path)}: {obj['kind']}/{metadata['name']} is not in namespace {NAMESPACE!r}"
            )


def test_kustomization_lists_exactly_the_manifests() -> None:
    (kustomization,) = _load(KUSTOMIZATION)
    assert kustomization["kind"] == "Kustomization"
    assert kustomization.get("namespace") == NAMESPACE
    resources = kustomization["resources"]
    assert isinstance(resources, list)
    assert len(resources) == len(set(resources)), "duplicate entries in resources"
    expected = {p.relative_to(K8S).as_posix() for p in _manifest_files() if p != SECRET_EXAMPLE}
    assert set(resources) == expected
    assert SECRET_EXAMPLE.name not in resources


# --- commands ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["voice", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"],
        ["voice", "serve", "--no-worker"],
        ["voice", "worker"],
        ["voice", "db", "upgrade"],
    ],
)
def test_command_check_accepts_the_real_forms(argv: list[str]) -> None:
    assert _is_voice_command(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["voice", "serve", "--host", "0.0.0.0", "--port", "8000"],
        ["voice", "serve", "--port", "8080", "--no-worker"],
        ["voice", "serve", "--no-worker", "--reload"],
        ["voice", "migrate"],
        ["voice", "db", "upgrade", "head"],
        ["alembic", "upgrade", "head"],
        ["sh", "-c", "voice worker"],
        [],
    ],
)
def test_command_check_rejects_other_forms(argv: list[str]) -> None:
    assert not _is_voice_command(argv)


def test_k8s_container_commands_are_real_cli_forms() -> None:
    seen = 0
    for path, obj in _objects():
        for container in _containers(obj):
            where = f"{_rel(path)}: {obj['metadata']['name']}/{container['name']}"
            assert "command" in container, f"{where}: set the command explicitly"
            argv = [str(part) for part in [*container["command"], *container.get("args", [])]]
            assert _is_voice_command(argv), f"{where}: unknown command {argv}"
            seen += 1
    assert seen >= 3


def test_k8s_roles_run_the_right_command() -> None:
    expected = {
        "voice-api": "serve",
        "voice-worker": "worker",
        "voice-migrate": "db",
    }
    for name, subcommand in expected.items():
        (container,) = _containers(_workload(name))
        assert container["command"][1] == subcommand, name


def test_compose_commands_are_real_cli_forms() -> None:
    services = _compose()["services"]
    for name in VOICE_SERVICES:
        service = services[name]
        assert "command" in service, f"compose service {name!r}: set the command explicitly"
        argv = _compose_argv(service)
        assert _is_voice_command(argv), f"compose service {name!r}: unknown command {argv}"
    assert _compose_argv(services["migrate"]) == ["voice", "db", "upgrade"]
    assert _compose_argv(services["worker"]) == ["voice", "worker"]
    assert _compose_argv(services["api"])[1] == "serve"
    for name, service in services.items():
        if "command" in service and name not in VOICE_SERVICES:
            assert _is_voice_command(_compose_argv(service)), name


def test_containerfile_default_command_is_the_api() -> None:
    (cmd,) = _instructions("CMD")
    argv = json.loads(cmd)
    assert isinstance(argv, list)
    assert argv[:2] == ["voice", "serve"]
    assert _is_voice_command(argv)
    assert not _instructions("ENTRYPOINT"), "an ENTRYPOINT would prefix every k8s/compose command"


# --- compose ordering ------------------------------------------------------------------------


def test_compose_runs_migrations_before_the_app() -> None:
    services = _compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:15")
    assert "healthcheck" in services["postgres"]
    migrate_deps = services["migrate"]["depends_on"]
    assert migrate_deps["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
    for name in VOICE_SERVICES:
        build = services[name]["build"]
        assert build["context"] == ".."
        assert build["dockerfile"] == "deploy/Containerfile"


# --- probes ----------------------------------------------------------------------------------


def test_api_probes() -> None:
    (container,) = _containers(_workload("voice-api"))
    readiness = container["readinessProbe"]["httpGet"]
    liveness = container["livenessProbe"]["httpGet"]
    assert readiness["path"] == "/readyz"
    assert readiness["port"] == 8000
    assert liveness["path"] == "/healthz"
    assert liveness["port"] == 8000
    assert [p["containerPort"] for p in container["ports"]] == [8000]


def test_worker_has_no_ports_and_a_grace_period() -> None:
    worker = _workload("voice-worker")
    (container,) = _containers(worker)
    assert "ports" not in container
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 60


# --- secrets ---------------------------------------------------------------------------------


def test_k8s_manifests_hold_no_secret_values() -> None:
    for path, obj in _objects(include_example=False):
        where = f"{_rel(path)}: {obj['kind']}/{obj['metadata']['name']}"
        assert obj["kind"] != "Secret", f"{where}: Secrets belong outside the repository"
        for node in _walk(obj):
            if not isinstance(node, dict):
                continue
            for name in ALL_SECRET_NAMES:
                assert name not in node, f"{where}: literal {name}"
                if node.get("name") == name and ("value" in node or "valueFrom" in node):
                    assert "value" not in node, f"{where}: literal value for {name}"
                    assert "secretKeyRef" in node["valueFrom"], f"{where}: {name} not from a Secret"


def test_k8s_containers_take_secrets_from_secret_refs() -> None:
    for name in ("voice-api", "voice-worker", "voice-migrate"):
        (container,) = _containers(_workload(name))
        env = {item["name"]: item for item in container.get("env", [])}
        for secret in SECRET_NAMES:
            assert secret in env, f"{name}: {secret} is not set"
            ref = env[secret]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "voice-secrets", f"{name}: {secret}"
            assert ref["key"] == secret, f"{name}: {secret}"


def test_only_the_api_holds_the_bounce_token() -> None:
    for name in ("voice-api", "voice-worker", "voice-migrate"):
        (container,) = _containers(_workload(name))
        env = {item["name"]: item for item in container.get("env", [])}
        for secret in API_SECRET_NAMES:
            if name != "voice-api":
                assert secret not in env, f"{name}: {secret} belongs to the API alone"
                continue
            ref = env[secret]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == ("voice-secrets", secret)


def test_compose_secrets_use_required_interpolation() -> None:
    doc = _compose()
    for name in VOICE_SERVICES:
        env = _compose_env(doc["services"][name])
        for secret in ALL_SECRET_NAMES:
            assert secret in env, f"compose service {name!r}: {secret} is not set"
            assert _required_interpolation(secret).match(env[secret]), (
                f"compose service {name!r}: {secret} must be ${{{secret}:?...}}"
            )
    for node in _walk(doc):
        if isinstance(node, dict):
            for secret in ALL_SECRET_NAMES:
                if secret in node:
                    assert _required_interpolation(secret).match(str(node[secret])), secret
        elif isinstance(node, str):
            for secret in ALL_SECRET_NAMES:
                if node.startswith(secret + "="):
                    value = node.partition("=")[2]
                    assert _required_interpolation(secret).match(value), secret


def test_no_other_deploy_file_assigns_a_secret() -> None:
    pattern = re.compile(r"\b(" + "|".join(ALL_SECRET_NAMES) + r")\b\s*[:=]\s*(\S+)")
    for path in [CONTAINERFILE, *_yaml_files(DEPLOY)]:
        if path in (SECRET_EXAMPLE, COMPOSE):
            continue
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            match = pattern.search(line)
            assert match is None, f"{_rel(path)}: assigns {match.group(1) if match else ''}"
    for instruction in ("ENV", "ARG"):
        for line in _instructions(instruction):
            for secret in ALL_SECRET_NAMES:
                assert secret not in line, f"Containerfile {instruction} sets {secret}"


def test_secret_example_is_an_obvious_placeholder() -> None:
    (secret,) = _load(SECRET_EXAMPLE)
    assert secret["kind"] == "Secret"
    assert secret["type"] == "Opaque"
    assert "data" not in secret
    data = secret["stringData"]
    for name in ALL_SECRET_NAMES:
        value = data[name]
        assert "CHANGE-ME" in value
        # Shorter than the service's 32-character minimum, so it cannot start with it.
        assert len(value) < 32
    assert "EXAMPLE" in SECRET_EXAMPLE.read_text(encoding="utf-8")


# --- image ---------------------------------------------------------------------------------


def test_containerfile_runs_as_non_root_and_exposes_8000() -> None:
    froms = _instructions("FROM")
    assert len(froms) >= 2, "expected a multi-stage build"
    assert all(f.startswith("python:3.11-slim") for f in froms)
    users = _instructions("USER")
    assert users, "no USER instruction"
    final_user = users[-1].split(":")[0]
    assert final_user not in {"root", "0"}
    assert "8000" in " ".join(_instructions("EXPOSE")).split()
    (healthcheck,) = _instructions("HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert "python" in healthcheck
    assert "curl" not in healthcheck


def test_k8s_pods_run_as_the_image_user() -> None:
    users = _instructions("USER")
    uid = int(users[-1].split(":")[0])
    for name in ("voice-api", "voice-worker", "voice-migrate"):
        pod = _pod_spec(_workload(name))
        assert pod is not None
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == uid
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, name


def test_outbox_dir_is_a_writable_volume() -> None:
    (configmap,) = (obj for _, obj in _objects() if obj["kind"] == "ConfigMap")
    outbox = configmap["data"]["VOICE_OUTBOX_DIR"]
    for name in ("voice-api", "voice-worker"):
        pod = _pod_spec(_workload(name))
        assert pod is not None
        volumes = {v["name"]: v for v in pod["volumes"]}
        (container,) = pod["containers"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        for path in ("/tmp", outbox):
            assert path in mounts, f"{name}: {path} is not mounted"
            assert "emptyDir" in volumes[mounts[path]], f"{name}: {path} is not an emptyDir"
