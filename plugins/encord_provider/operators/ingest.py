"""Airflow side of ingestion: the steps of `encord_ingest__<name>` and the deferrable register operator.

Each step reloads the pipeline from the dict it was given (the config as parsed with the DAG), opens its
stores and ledger, and passes on only small values (URIs, counts). See docs/ingestion.md for the flow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator, Context

from encord_provider.config.ingest import DATA_TYPES, IngestPipeline
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState
from encord_provider.ledger.watermark import partial_run_reason
from encord_provider.operators import ingest_encord as encord_ops
from encord_provider.operators.ingest_chunks import apply_job_result
from encord_provider.operators.ingest_link import (
    link_ready_items,
    resolve_duplicates,
    run_report,
    summary_text,
    write_report,
)
from encord_provider.operators.ingest_plan import (
    RunOptions,
    advance_watermark,
    plan_run,
    read_plan,
    reconcile_submitted,
    run_prefix,
)
from encord_provider.operators.ingest_stores import key_of_uri, ledger_prefix, source_store, staging_store
from encord_provider.reports import write_html_report
from encord_provider.triggers.upload_job import UploadJobTrigger

log = logging.getLogger(__name__)


def _client(pipeline: IngestPipeline) -> Any:
    from encord_provider.hooks.encord import EncordHook

    return EncordHook(encord_conn_id=pipeline.encord_conn_id).client


def _resources_key(pipeline: IngestPipeline) -> str:
    return f"{ledger_prefix(pipeline)}/resources.json"


def prepare_targets(pipeline: IngestPipeline, dry_run: bool = False) -> dict[str, Any]:
    """Resolve the integration, folder and datasets (creating what is missing); remember them in staging."""
    if dry_run:
        return {"dry_run": True}
    client = _client(pipeline)
    staging = staging_store(pipeline)
    key = _resources_key(pipeline)
    known: dict[str, Any] = json.loads(staging.read_bytes(key)) if staging.exists(key) else {}
    integration_id = encord_ops.resolve_integration(client, pipeline.integration)
    folder_uuid = encord_ops.ensure_folder(
        client, pipeline.folder, known.get("folders", {}).get(pipeline.folder.name)
    )
    datasets: dict[str, str] = {}
    for dataset in pipeline.datasets:
        datasets[dataset.title] = encord_ops.ensure_dataset(
            client, dataset, known.get("datasets", {}).get(dataset.title)
        )
        attached = encord_ops.attach_dataset_to_projects(
            client, datasets[dataset.title], dataset.attach_to_projects
        )
        if attached:
            log.info("attached dataset %r to projects %s", dataset.title, attached)
    remembered = {"folders": {pipeline.folder.name: folder_uuid}, "datasets": datasets}
    if remembered != {k: known.get(k) for k in remembered}:
        staging.write_bytes(key, json.dumps(remembered, indent=1).encode(), "application/json")
    return {
        "integration_id": integration_id,
        "folder_uuid": folder_uuid,
        "dataset_hashes": list(datasets.values()),
    }


def plan_step(
    pipeline: IngestPipeline, params: dict[str, Any], run_id: str, targets: dict[str, Any]
) -> list[str]:
    """Settle earlier jobs, list new objects, write manifests; returns the chunk-plan URIs to register."""
    options = RunOptions.from_params(params)
    staging = staging_store(pipeline)
    ledger = Ledger(staging, ledger_prefix(pipeline)).load()
    if not options.dry_run:
        settled = reconcile_submitted(pipeline, ledger, staging, _client(pipeline), targets["folder_uuid"])
        if settled:
            log.info("settled objects of earlier upload jobs: %s", settled)
    result = plan_run(pipeline, options, run_id, source_store(pipeline), staging, ledger)
    log.info(
        "listing %s; planned %d objects in %d chunks, rejected %d, already known %d%s",
        result.listing, result.planned, len(result.plan_uris), result.rejected, result.skipped_known,
        " (dry run: nothing registered)" if options.dry_run else "",
    )  # fmt: skip
    if options.dry_run:
        return []
    partial = partial_run_reason(options, pipeline.source.prefix, DATA_TYPES)
    if partial:
        log.info("the watermark stays where it is: this run is limited by %s", partial)
    elif result.newest:
        staging.write_bytes(
            f"{run_prefix(pipeline, run_id)}/newest.txt", result.newest.encode(), "text/plain"
        )  # read by finalize to move the watermark
    return result.plan_uris


def link_step(pipeline: IngestPipeline, targets: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Resolve skipped duplicates, then link every ready item into the datasets."""
    if targets.get("dry_run"):
        return {"dry_run": True}
    client = _client(pipeline)
    staging = staging_store(pipeline)
    ledger = Ledger(staging, ledger_prefix(pipeline)).load()
    source = source_store(pipeline)
    resolved = resolve_duplicates(ledger, client, targets["folder_uuid"], source.object_url)
    ledger.write(resolved, writer=f"resolve:{run_id}")
    return link_ready_items(ledger, client, targets["dataset_hashes"], run_id)


def finalize_step(
    pipeline: IngestPipeline, params: dict[str, Any], run_id: str, chunk_results: Sequence[dict[str, Any]] | None,
    link_result: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """Move the watermark, compact the ledger, write the run report; returns the report's summary."""
    staging = staging_store(pipeline)
    ledger = Ledger(staging, ledger_prefix(pipeline)).load()
    base = run_prefix(pipeline, run_id)
    dry_run = RunOptions.from_params(params).dry_run
    if not dry_run:
        newest_key = f"{base}/newest.txt"
        if staging.exists(newest_key):  # only complete runs leave it (plan_step)
            advance_watermark(ledger, staging.read_bytes(newest_key).decode(), run_id)
        ledger.compact(pipeline.ledger.compaction_grace_seconds)
    report = run_report(
        pipeline, ledger, run_id, staging.uri(base),
        {"dry_run": dry_run, "chunks": list(chunk_results or []), "link": link_result or {},
         "ledger_problems": [p.to_json() for p in ledger.problems]},
    )  # fmt: skip
    report["report_uri"] = write_report(staging, f"{base}/report.json", report)
    html_uri = write_html_report(staging, f"{base}/report.json", report)
    log.info("%s\nreport: %s (as a page: %s)", summary_text(report), report["report_uri"], html_uri)
    failed = report["states"].get("failed", 0)
    return {"report_uri": report["report_uri"], "states": report["states"], "failed": failed}


class EncordRegisterChunkOperator(BaseOperator):
    """Register one chunk manifest into the pipeline's folder and wait for the upload job (deferrable).

    Idempotent: the job id is recorded next to the chunk plan before deferring, so a retried task resumes
    waiting on the same job instead of starting another; `skip_duplicate_urls` is the second guard.
    """

    template_fields: Sequence[str] = ("plan_uri", "targets")
    ui_color = "#e0d4fb"

    def __init__(
        self, *, pipeline: dict[str, Any], plan_uri: str, targets: dict[str, Any] | str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.plan_uri = plan_uri
        self.targets = targets

    @property
    def _pipeline(self) -> IngestPipeline:
        return IngestPipeline.model_validate(self.pipeline)

    def _job_marker_key(self, staging: Any) -> str:
        return key_of_uri(staging, self.plan_uri).removesuffix(".plan.json") + ".job.json"

    def execute(self, context: Context) -> Any:
        pipeline = self._pipeline
        targets = dict(self.targets)  # type: ignore[arg-type]
        staging = staging_store(pipeline)
        marker = self._job_marker_key(staging)
        if staging.exists(marker):
            job_id = json.loads(staging.read_bytes(marker))["upload_job_id"]
            self.log.info("resuming upload job %s for %s", job_id, self.plan_uri)
        else:
            plan = read_plan(staging, self.plan_uri)
            manifest = json.loads(staging.read_bytes(key_of_uri(staging, plan.manifest_uri)))
            manifest["skip_duplicate_urls"] = True
            client = _client(pipeline)
            job_id = encord_ops.start_upload_job(
                client, targets["folder_uuid"], targets["integration_id"], manifest
            )
            staging.write_bytes(marker, json.dumps({"upload_job_id": job_id}).encode(), "application/json")
            ledger = Ledger(staging, ledger_prefix(pipeline)).scan()
            ledger.write(
                [
                    LedgerRecord(
                        key=o.key,
                        etag=o.etag,
                        state=ObjectState.SUBMITTED,
                        upload_job_id=job_id,
                        chunk=self.plan_uri,
                        entry=title,
                    )  # fmt: skip
                    for title, objects in plan.entries.items()
                    for o in objects
                ],
                writer=f"register:{job_id}",
            )
            self.log.info(
                "started upload job %s for %d entries of %s", job_id, len(plan.entries), self.plan_uri
            )
        self.defer(
            trigger=UploadJobTrigger(
                encord_conn_id=pipeline.encord_conn_id,
                folder_uuid=targets["folder_uuid"],
                upload_job_id=job_id,
                poll_interval=pipeline.upload_poll_seconds,
                timeout_seconds=pipeline.upload_timeout_minutes * 60,
            ),
            method_name="execute_complete",
            timeout=timedelta(minutes=pipeline.upload_timeout_minutes + 5),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        if not event or event.get("status") not in ("DONE", "ERROR", "CANCELLED"):
            # Objects stay `submitted`; the next run settles them against the job.
            raise RuntimeError(f"upload job for {self.plan_uri} did not finish: {event!r}")
        pipeline = self._pipeline
        targets = dict(self.targets)  # type: ignore[arg-type]
        staging = staging_store(pipeline)
        job_id = event["upload_job_id"]
        state = encord_ops.read_upload_job(_client(pipeline), targets["folder_uuid"], job_id)
        plan = read_plan(staging, self.plan_uri)
        ledger = Ledger(staging, ledger_prefix(pipeline)).scan()  # names only: attempts travel in the plan
        outcome = apply_job_result(plan, self.plan_uri, job_id, state, {}, pipeline.ledger.max_attempts)
        ledger.write(outcome.records, writer=f"result:{job_id}")
        for key, error in list(outcome.errors.items())[:20]:
            self.log.warning("Encord could not register %s: %s", key, error)
        summary = {
            "plan_uri": self.plan_uri,
            "upload_job_id": job_id,
            "status": event["status"],
            **{str(s): outcome.count(s) for s in (ObjectState.REGISTERED, ObjectState.DUPLICATE,
                                                  ObjectState.FAILED, ObjectState.REJECTED)},
        }  # fmt: skip
        self.log.info("chunk result: %s", summary)
        return summary
