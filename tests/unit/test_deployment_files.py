"""docker-compose.yaml and the Dockerfile describe a real Celery deployment with no secrets inside."""

from __future__ import annotations

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
