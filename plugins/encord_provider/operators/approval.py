"""A person approves a big registration, or the archiving of deletions (Airflow's Required Actions).

- `approve` (`approval.above_objects`), between `plan` and `register`: Reject skips every downstream task
  but the lease's teardown, so nothing is registered, the watermark stays, and the planned objects (ledger
  `pending`) are planned again next run.
- `approve_archive` (`approval.above_deletions`), between `plan` and `archive`: Reject skips only
  `archive`, so nothing is archived; the run goes on and reports the deletions as not archived, and the
  next run finds them again (ingest/archive.py).

A run within the limit (or a dry run) is not held up: the task succeeds at once without asking.
Unanswered within `timeout` counts as Reject.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, TypeVar

from airflow.providers.standard.operators.hitl import ApprovalOperator

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ingest.approval import ApprovalRequest, approval_request, archive_request


class _EncordApprovalOperator(ApprovalOperator):
    """Ask when the run's plan summary is over `limit`; pass straight through otherwise."""

    template_fields: Sequence[str] = ("subject", "body")
    ui_color = "#fde8c8"
    limit_name = ""  # the approval field, for the log
    skip_all_downstream = True

    def __init__(
        self,
        *,
        pipeline: dict[str, Any],
        limit: int,
        response_timeout: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            subject="Approve this run?",
            ignore_downstream_trigger_rules=self.skip_all_downstream,
            response_timeout=response_timeout,
            defaults=[self.REJECT] if response_timeout else None,  # unanswered = rejected
            **kwargs,
        )
        self.pipeline = pipeline
        self.limit = limit

    def request(self, pipeline: str, plan: dict[str, Any]) -> ApprovalRequest | None:
        raise NotImplementedError

    def execute(self, context: Any) -> Any:
        from encord_provider.ingest.plan import RunOptions
        from encord_provider.operators.ingest import _staging, run_plan_summary

        pipeline = IngestPipeline.model_validate(self.pipeline)
        if RunOptions.from_params(dict(context["params"])).dry_run:
            self.log.info("dry run: nothing is changed in Encord, no approval needed")
            return {"asked": False, "approved": True}
        plan = run_plan_summary(_staging(pipeline), pipeline, context["run_id"], False)
        request = self.request(pipeline.name, plan)
        if request is None:
            self.log.info("within approval.%s=%d: no approval needed", self.limit_name, self.limit)
            return {"asked": False, "approved": True, **self.counts(plan)}
        self.subject, self.body = request.subject, request.body
        self.log.info("asking for approval: %s", request.subject)
        return super().execute(context)

    def counts(self, plan: dict[str, Any]) -> dict[str, int]:
        return {}


_Approval = TypeVar("_Approval", bound=_EncordApprovalOperator)


class EncordRegistrationApprovalOperator(_EncordApprovalOperator):
    """Ask before registering more than `limit` objects (Reject skips the rest of the run)."""

    limit_name = "above_objects"

    def request(self, pipeline: str, plan: dict[str, Any]) -> ApprovalRequest | None:
        return approval_request(pipeline, self.limit, plan)

    def counts(self, plan: dict[str, Any]) -> dict[str, int]:
        return {"objects": int(plan.get("objects") or 0)}


class EncordArchiveApprovalOperator(_EncordApprovalOperator):
    """Ask before archiving the items of more than `limit` deleted objects (Reject skips `archive` only)."""

    limit_name = "above_deletions"
    skip_all_downstream = False  # only `archive`, the one task downstream; link and finalize still run

    def request(self, pipeline: str, plan: dict[str, Any]) -> ApprovalRequest | None:
        return archive_request(pipeline, self.limit, plan)

    def counts(self, plan: dict[str, Any]) -> dict[str, int]:
        return {"deletions": int((plan.get("bucket_changes") or {}).get("awaiting_approval") or 0)}


def approval_task(pipeline: IngestPipeline) -> EncordRegistrationApprovalOperator:
    """The `approve` task of a pipeline with `approval.above_objects` (inside the current `with DAG(...)`)."""
    assert pipeline.approval is not None and pipeline.approval.above_objects is not None
    return _task(EncordRegistrationApprovalOperator, "approve", pipeline, pipeline.approval.above_objects)


def archive_approval_task(pipeline: IngestPipeline) -> EncordArchiveApprovalOperator:
    """The `approve_archive` task of a pipeline with `approval.above_deletions`."""
    assert pipeline.approval is not None and pipeline.approval.above_deletions is not None
    return _task(
        EncordArchiveApprovalOperator, "approve_archive", pipeline, pipeline.approval.above_deletions
    )


def _task(kind: type[_Approval], task_id: str, pipeline: IngestPipeline, limit: int) -> _Approval:
    assert pipeline.approval is not None
    return kind(task_id=task_id, pipeline=pipeline.model_dump(mode="json"), limit=limit,
                response_timeout=pipeline.approval.timeout)  # fmt: skip
