"""docker-compose.yaml and the Dockerfile describe a real Celery deployment with no secrets inside."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_compose_has_every_airflow_service() -> None:
    services = _compose()["services"]
    expected = {
        "postgres",
        "redis",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
        "airflow-init",
    }
    assert expected <= set(services)
    commands = {name: svc.get("command") for name, svc in services.items()}
    assert commands["airflow-apiserver"] == "api-server"
    assert commands["airflow-scheduler"] == "scheduler"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-triggerer"] == "triggerer"
    assert commands["airflow-worker"] == "celery worker"


def test_airflow_services_build_the_project_image_and_mount_code() -> None:
    services = _compose()["services"]
    for name, svc in services.items():
        if not name.startswith("airflow-"):
            continue
        assert svc["build"] == ".", name
        assert svc["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in svc["environment"], name
        targets = {volume.rsplit(":", 1)[1] for volume in svc["volumes"]}
        assert {"/opt/airflow/dags", "/opt/airflow/include", "/opt/airflow/plugins"} <= targets, name


def test_dockerfile_installs_requirements_and_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM apache/airflow:3.3.2" in dockerfile
    assert "-r /opt/project/requirements.txt" in dockerfile
    assert re.search(r"pip install .*--no-deps /opt/project", dockerfile)


def test_no_secrets_in_compose() -> None:
    text = (ROOT / "docker-compose.yaml").read_text()
    assert "PRIVATE KEY" not in text
    assert not re.search(r"AKIA[0-9A-Z]{16}", text)
    assert not re.search(r"AccountKey=[A-Za-z0-9+/=]{20,}", text)
    fernet = _compose()["x-airflow-common"]["environment"]["AIRFLOW__CORE__FERNET_KEY"]
    assert fernet.startswith("${"), "the Fernet key must come from the environment"


def _requirements(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-r ")):
            continue
        assert "==" in line, f"{name}: {line!r} is not pinned"
        package, version = line.split("==")
        pins[re.sub(r"\[.*\]", "", package).lower().replace("_", "-")] = version
    return pins


def test_runtime_and_dev_requirements_are_split_and_fully_pinned() -> None:
    runtime, dev = _requirements("requirements.txt"), _requirements("requirements-dev.txt")
    assert (ROOT / "requirements-dev.txt").read_text().count("-r requirements.txt") == 1
    assert not set(runtime) & set(dev), "a package is pinned in both files"
    for tool in ("pytest", "moto", "ruff", "mypy", "hypothesis", "playwright"):
        assert tool in dev and tool not in runtime, tool
    for package in (
        "apache-airflow-providers-celery",
        "apache-airflow-providers-postgres",
        "psycopg2-binary",
        "asyncpg",
    ):
        assert package in runtime, package
    # providers-celery 3.26 imports celery.backends.database.retry, which celery 5.7 removed
    assert runtime["celery"].startswith("5.6.") and runtime["kombu"].startswith("5.6."), runtime["celery"]


def test_image_installs_runtime_requirements_only() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements-dev" not in dockerfile and "pip install -e" not in dockerfile


def test_every_component_shares_secrets_from_the_environment() -> None:
    services = _compose()["services"]
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY"):
        values = {svc["environment"][key] for name, svc in services.items() if name.startswith("airflow-")}
        (value,) = values
        assert value.startswith(f"${{{key}:?"), f"{key} must come from .env and be required: {value}"


def test_mounted_code_comes_first_and_readme_agrees_on_pythonpath() -> None:
    env = _compose()["x-airflow-common"]["environment"]
    assert env["PYTHONPATH"] == "/opt/airflow/plugins:/opt/airflow/include"
    readme = (ROOT / "README.md").read_text()
    assert "PYTHONPATH=/opt/airflow/plugins:/opt/airflow/include" in readme
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "${AIRFLOW_ADMIN_USERS:-admin:admin}"
    assert "simple_auth_manager_passwords.json" in env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert "simple_auth_manager_passwords.json" in readme


def test_installed_package_does_not_shadow_the_mounted_code(tmp_path: Path) -> None:
    """Install the package non-editable (as the image does), then import it with the compose PYTHONPATH:
    the mounted plugins/ wins, and the entry points still come from the installed metadata."""
    import subprocess
    import sys

    site = tmp_path / "site-packages"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--target", str(site), str(ROOT)],
        check=True, cwd=tmp_path,
    )  # fmt: skip
    probe = (
        "import importlib.metadata as m, encord_provider; print(encord_provider.__file__); "
        "print(sorted(e.value for g in ('airflow.plugins', 'apache_airflow_provider') for e in m.entry_points(group=g)))"
    )
    search_path = os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include"), str(site)])
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe], env={"PYTHONPATH": search_path}, capture_output=True, text=True,
        check=True,
    ).stdout.splitlines()  # fmt: skip
    assert out[0] == str(ROOT / "plugins" / "encord_provider" / "__init__.py")
    assert out[1] == str(
        [
            "encord_provider.get_provider_info:get_provider_info",
            "encord_provider.ui.plugin:EncordPipelinesPlugin",
        ]
    )
