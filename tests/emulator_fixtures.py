"""pytest plugin: the Encord emulator as a session subprocess, plus an SDK client per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from encord_emulator.testing import EmulatorProcess


@pytest.fixture(scope="session")
def encord_emulator() -> Iterator[EmulatorProcess]:
    """One emulator for the session; sets AIRFLOW_CONN_ENCORD_TEST to reach it.

    Attributes: ``url``, ``private_key``, ``public_key``, ``data_dir``; methods ``admin_post(path, json)``,
    ``admin_get(path)``, ``client(**sdk_kwargs)``, ``restart()``.
    """
    emulator = EmulatorProcess()
    emulator.start()
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW_CONN_ENCORD_TEST", emulator.airflow_connection())
    yield emulator
    mp.undo()
    emulator.close()


@pytest.fixture
def encord_client(encord_emulator: EmulatorProcess) -> Any:
    """A fresh ``EncordUserClient`` (real SDK) bound to the session emulator."""
    return encord_emulator.client()


@pytest.fixture
def encord_s3_integration(encord_emulator: EmulatorProcess, moto_endpoint: str) -> str:
    """Integration id of an ``aws`` integration reading the session moto server."""
    return _seed_integration(
        encord_emulator, {"title": "moto-s3", "provider": "aws", "endpoint_url": moto_endpoint}
    )


@pytest.fixture
def encord_gcs_integration(encord_emulator: EmulatorProcess, gcs_endpoint: str) -> str:
    """Integration id of a ``gcp`` integration reading the session fake-gcs-server."""
    return _seed_integration(
        encord_emulator,
        {"title": "fake-gcs", "provider": "gcp", "endpoint_url": gcs_endpoint, "project": "test-project"},
    )


@pytest.fixture
def encord_azure_integration(encord_emulator: EmulatorProcess, azurite_conn_str: str) -> str:
    """Integration id of an ``azure`` integration reading the session Azurite."""
    return _seed_integration(
        encord_emulator, {"title": "azurite", "provider": "azure", "connection_string": azurite_conn_str}
    )


def _seed_integration(emulator: EmulatorProcess, integration: dict[str, Any]) -> str:
    emulator.admin_post("/admin/seed", {"integrations": [integration]})
    client = emulator.client()
    (found,) = client.get_cloud_integrations(filter_integration_titles=[integration["title"]])
    return str(found.id)
