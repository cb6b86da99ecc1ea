"""Per-pipeline run controls: a deadline alert (the nightly SLA) and a human approval before big runs.

    deadline: {after: 2h, callback: my_pkg.alerts.page_oncall}   # callback optional
    approval: {above_objects: 10000, above_deletions: 0, timeout: 8h}   # either limit, or both

Plain pydantic, no Airflow: the DAG factory turns them into a `DeadlineAlert` and approval tasks.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    """Ask a person (Airflow's Required Actions) before a run registers many objects, or before it archives
    the items of objects deleted from the bucket (`bucket_changes: {deleted: archive}`)."""

    model_config = ConfigDict(extra="forbid")

    above_objects: int | None = Field(
        None, ge=0, description="Ask when a run would register more than this many objects."
    )
    above_deletions: int | None = Field(
        None, ge=0, description="Ask when a run would archive the items of more than this many deleted "
        "objects (0 = before every archive). Needs bucket_changes.deleted: archive.",
    )  # fmt: skip
    timeout: Duration | None = Field(
        None,
        description="Reject (skip what was asked) when nobody answers within this time; null = wait forever.",
    )

    @model_validator(mode="after")
    def _check_some_limit(self) -> ApprovalConfig:
        if self.above_objects is None and self.above_deletions is None:
            raise ValueError("approval needs above_objects, above_deletions or both")
        return self
