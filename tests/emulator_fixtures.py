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
