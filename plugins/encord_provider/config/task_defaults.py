"""Airflow `default_args` from a pipeline's or project's `owner`, `task_retries` and `retry_delay_seconds`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol


class TaskSettings(Protocol):
    owner: str
    task_retries: int
    retry_delay_seconds: float


def default_args(settings: TaskSettings) -> dict[str, Any]:
    return {
        "owner": settings.owner,
        "retries": settings.task_retries,
        "retry_delay": timedelta(seconds=settings.retry_delay_seconds),
    }
