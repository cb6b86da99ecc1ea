"""Deadline alerts (Airflow 3.3) for a pipeline's DAG, built from its `deadline:` config, and the default
callback, which logs a warning naming the pipeline, the run and the deadline it missed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk.definitions.deadline import DeadlineAlert

    from encord_provider.config.run_controls import DeadlineConfig

log = logging.getLogger(__name__)


def deadline_alert(config: DeadlineConfig | None, pipeline: str, dag_id: str) -> DeadlineAlert | None:
    """The DAG's `deadline=` argument: the alert of a `deadline:` config, None without one."""
    return None if config is None else build_deadline_alert(config, pipeline, dag_id)


def build_deadline_alert(config: DeadlineConfig, pipeline: str, dag_id: str) -> DeadlineAlert:
    """The `DeadlineAlert` of `config`; its callback gets `pipeline`, `dag_id` and `after` (seconds) too."""
    from airflow.sdk.definitions.callback import AsyncCallback, SyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    reference = {
        "queued_at": DeadlineReference.DAGRUN_QUEUED_AT,
        "logical_date": DeadlineReference.DAGRUN_LOGICAL_DATE,
    }[config.reference]
    kwargs = {
        **config.callback_kwargs,
        "pipeline": pipeline,
        "dag_id": dag_id,
        "after": config.after.total_seconds(),
    }
    kind = AsyncCallback if config.callback_kind == "async" else SyncCallback
    return DeadlineAlert(
        reference=reference,
        interval=config.after,
        callback=kind(config.callback, kwargs=kwargs),
        name=f"{dag_id} finished within {config.after}",
    )


def missed_deadline_message(pipeline: str, dag_id: str, after: float, context: Any = None) -> str:
    """`context` is what the scheduler sends: {"dag_run": DAGRunResponse JSON, "deadline": {...}}."""
    context = context or {}
    run_id = (context.get("dag_run") or {}).get("dag_run_id") or "?"
    due = (context.get("deadline") or {}).get("deadline_time") or "?"
    return (
        f"pipeline {pipeline!r}: run {run_id} of {dag_id} was not finished by {due} "
        f"({_span(after)} after its deadline reference; the pipeline's `deadline:` SLA)"
    )


def _span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


async def log_missed_deadline(
    pipeline: str, dag_id: str, after: float, context: Any = None, **_: Any
) -> None:
    """The default deadline callback (awaited in the triggerer): a warning in the triggerer log."""
    log.warning("DEADLINE MISSED: %s", missed_deadline_message(pipeline, dag_id, after, context))
