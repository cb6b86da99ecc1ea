"""A cron expression or Airflow preset, checked when the pipeline file is read (not when a DAG is built)."""

from __future__ import annotations

from typing import Annotated

from croniter import croniter
from pydantic import AfterValidator

AIRFLOW_PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"}
)


def check_schedule(value: str | None) -> str | None:
    if value is None or value in AIRFLOW_PRESETS:
        return value
    if not croniter.is_valid(value):
        raise ValueError(f"{value!r} is neither a cron expression nor one of {sorted(AIRFLOW_PRESETS)}")
    return value


Schedule = Annotated[str | None, AfterValidator(check_schedule)]
