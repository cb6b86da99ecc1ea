"""EncordRegistrationApprovalOperator: a person approves a big registration (Airflow's Required Actions).

Between `plan` and `register` when the pipeline has `approval:`. A run whose plan stays within
`above_objects` (or a dry run) is not held up: the task succeeds at once without asking. Otherwise the task
waits for Approve/Reject; Reject skips every downstream task but the lease's teardown, so nothing is
registered, the watermark stays, and the planned objects (ledger `pending`) are planned again next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from encord_provider.config.ingest import IngestPipeline


class EncordRegistrationApprovalOperator(ApprovalOperator):
    """Ask before registering more than `above_objects` objects; pass straight through otherwise."""

    template_fields: Sequence[str] = ("subject", "body")
    ui_color = "#fde8c8"

    def __init__(
        self,
        *,
        pipeline: dict[str, Any],
        above_objects: int,
        response_timeout: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            subject="Approve this registration?",
            ignore_downstream_trigger_rules=True,  # Reject skips register, link, finalize (not the teardown)
            response_timeout=response_timeout,
            defaults=[self.REJECT] if response_timeout else None,  # unanswered = rejected
            **kwargs,
        )
        self.pipeline = pipeline
        self.above_objects = above_objects

    def execute(self, context: Any) -> Any:
        from encord_provider.ingest.approval import approval_request
        from encord_provider.ingest.plan import RunOptions
        from encord_provider.operators.ingest import _staging, run_plan_summary

        pipeline = IngestPipeline.model_validate(self.pipeline)
        if RunOptions.from_params(dict(context["params"])).dry_run:
            self.log.info("dry run: nothing is registered, no approval needed")
            return {"asked": False, "approved": True}
        plan = run_plan_summary(_staging(pipeline), pipeline, context["run_id"], False)
        request = approval_request(pipeline.name, self.above_objects, plan)
        if request is None:
            self.log.info(
                "%s objects planned, within approval.above_objects=%d: no approval needed",
                plan.get("objects", 0), self.above_objects,
            )  # fmt: skip
            return {"asked": False, "approved": True, "objects": int(plan.get("objects") or 0)}
        self.subject, self.body = request.subject, request.body
        self.log.info("asking for approval: %s", request.subject)
        return super().execute(context)


def approval_task(pipeline: IngestPipeline) -> EncordRegistrationApprovalOperator:
    """The `approve` task of a pipeline with `approval:` (inside the current `with DAG(...)` block)."""
    assert pipeline.approval is not None
    return EncordRegistrationApprovalOperator(
        task_id="approve",
        pipeline=pipeline.model_dump(mode="json"),
        above_objects=pipeline.approval.above_objects,
        response_timeout=pipeline.approval.timeout,
    )
