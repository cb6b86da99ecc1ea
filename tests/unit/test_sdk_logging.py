"""The SDKs' per-call INFO chatter is quiet by default and comes back with ENCORD_SDK_LOG_LEVEL."""

from __future__ import annotations

import logging
from typing import Any

import encord_provider  # noqa: F401  (importing the provider applies the default)
import pytest
from encord_provider.sdk_logging import SDK_LOGGERS, apply_sdk_log_level


@pytest.fixture
def restore_levels() -> Any:
    yield
    apply_sdk_log_level()


def test_sdk_loggers_default_to_warning() -> None:
    for name in ("encord.http.querier", "encord.storage", "encord_agents.tasks.runner.runner_base"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name


def test_environment_turns_them_back_on(monkeypatch: pytest.MonkeyPatch, restore_levels: Any) -> None:
    monkeypatch.setenv("ENCORD_SDK_LOG_LEVEL", "info")
    assert apply_sdk_log_level() == "INFO"
    assert all(logging.getLogger(name).level == logging.INFO for name in SDK_LOGGERS)
    monkeypatch.setenv("ENCORD_SDK_LOG_LEVEL", "chatty")  # not a level: the default stays
    assert apply_sdk_log_level() == "WARNING"


def _sdk_calls(client: Any) -> None:
    """A v1 call (logged per request by `encord.http.querier`) through the real SDK."""
    from encord.orm.dataset import StorageLocation

    created = client.create_dataset("logging-check", StorageLocation.CORD_STORAGE)
    client.get_dataset(created.dataset_hash)


def test_real_sdk_calls_log_no_request_lines(encord_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        _sdk_calls(encord_client)
    assert not [r for r in caplog.records if r.name.startswith("encord") and r.levelno < logging.WARNING]


def test_request_lines_return_when_asked(
    encord_client: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, restore_levels: Any
) -> None:
    monkeypatch.setenv("ENCORD_SDK_LOG_LEVEL", "INFO")
    apply_sdk_log_level()
    with caplog.at_level(logging.INFO):
        _sdk_calls(encord_client)
    assert any(
        r.name == "encord.http.querier" and r.getMessage().startswith("Request:") for r in caplog.records
    )
