"""The provider registers the `encord` connection type with declarative form fields."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from encord_provider.get_provider_info import get_provider_info

AIRFLOW_BIN = str(Path(sys.executable).with_name("airflow"))


def _airflow(*args: str) -> str:
    result = subprocess.run(
        [AIRFLOW_BIN, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_provider_info_declares_encord_connection_fields() -> None:
    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-encord"
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "encord"
    fields = conn_type["conn-fields"]
    assert fields["private_key"]["schema"]["format"] == "multiline"
    assert fields["domain"]["schema"]["default"] == "https://api.encord.com"


def test_airflow_cli_lists_provider_and_hook() -> None:
    assert "airflow-provider-encord" in _airflow("providers", "list", "-o", "plain")
    hooks = _airflow("providers", "hooks", "-o", "plain")
    line = next(line for line in hooks.splitlines() if line.split() and line.split()[0] == "encord")
    assert "encord_provider.hooks.encord.EncordHook" in line
    links = _airflow("providers", "links", "-o", "plain")
    for name in ("EncordProjectLink", "EncordFolderLink", "EncordDatasetLink"):
        assert f"encord_provider.operators.links.{name}" in links


@pytest.fixture
def api_client(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "test-only-jwt-secret-" + "x" * 64)
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    with TestClient(create_app()) as client:
        yield client


def test_connection_form_fields_from_api(api_client) -> None:  # type: ignore[no-untyped-def]
    response = api_client.get("/ui/connections/hook_meta")
    assert response.status_code == 200, response.text
    encord = next(hook for hook in response.json() if hook["connection_type"] == "encord")
    extra = encord["extra_fields"]
    assert extra["private_key"]["schema"]["format"] == "multiline"
    assert extra["private_key"]["schema"]["title"] == "SSH private key"
    assert extra["domain"]["value"] == "https://api.encord.com"
    assert encord["standard_fields"]["password"]["hidden"] is True
