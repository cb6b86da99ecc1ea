"""Per-pipeline run controls: a deadline alert (the nightly SLA) and a human approval before big runs.

    deadline: {after: 2h, callback: my_pkg.alerts.page_oncall}   # callback optional
    approval: {above_objects: 10000, timeout: 8h}

Plain pydantic, no Airflow: the DAG factory turns them into a `DeadlineAlert` and an approval task.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from encord_provider.config.durations import Duration

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
DEFAULT_DEADLINE_CALLBACK = "encord_provider.deadlines.log_missed_deadline"


class DeadlineConfig(BaseModel):
    """An Airflow deadline alert on every run of the pipeline's DAG."""

    model_config = ConfigDict(extra="forbid")

    after: Duration = Field(description="How long after the reference a run must have finished.")
    reference: Literal["queued_at", "logical_date"] = Field(
        "queued_at", description="Count from when the run was queued, or from its logical date."
    )
    callback: str = Field(
        DEFAULT_DEADLINE_CALLBACK, description="Dotted path of the function called when a run misses it."
    )
    callback_kind: Literal["async", "sync"] = Field(
        "async", description="async: awaited in the triggerer; sync: run by the executor."
    )
    callback_kwargs: dict[str, Any] = Field(default_factory=dict, description="Extra keyword arguments.")

    @field_validator("callback")
    @classmethod
    def _check_callback(cls, value: str) -> str:
        if not _DOTTED.match(value.strip()):
            raise ValueError(f"deadline callback {value!r} is not a dotted path like 'my_pkg.alerts.notify'")
        return value.strip()

    @field_validator("callback_kwargs")
    @classmethod
    def _check_kwargs(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = {"context", "pipeline", "dag_id", "after"} & set(value)
        if reserved:
            raise ValueError(f"callback_kwargs must not set {sorted(reserved)}: the alert fills them in")
        return value


class ApprovalConfig(BaseModel):
    """Ask a person (Airflow's Required Actions) before a run registers many objects."""

    model_config = ConfigDict(extra="forbid")

    above_objects: int = Field(ge=0, description="Ask when a run would register more than this many objects.")
    timeout: Duration | None = Field(
        None, description="Reject (skip the run) when nobody answers within this time; null = wait forever."
    )
