"""Airflow glue of ingestion: the steps of `encord_ingest__<name>` and the deferrable register operator.

Each step opens what it needs (stores, ledger, `EncordApi`, the pipeline lease), calls the domain in
`encord_provider.ingest`, and passes on only small values (URIs, counts). Each runs inside `fail_fast`
(`operators.failures`, the one place that maps errors to Airflow): permanent ones fail the task at once,
transient ones are left to retries.
See docs/ingestion.md for the flow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException

from encord_provider import lineage
from encord_provider.config.ingest import DATA_TYPES, IngestPipeline
from encord_provider.encord_api import EncordApi, JobState, is_finished
from encord_provider.encord_api.jobs import DONE
from encord_provider.ingest.changes import apply_policies
from encord_provider.ingest.chunks import read_plan
from encord_provider.ingest.errors import LeaseLostError
from encord_provider.ingest.jobs import AwaitEvidence, ChunkRegistration, RegisterStep, SettledByEvidence
from encord_provider.ingest.lease import PipelineLease
from encord_provider.ingest.link import link_ready_items, resolve_duplicates
from encord_provider.ingest.listing_scope import note_full_listing
from encord_provider.ingest.plan import RunOptions, advance_watermark, plan_run, plan_summary_key, run_prefix
from encord_provider.ingest.reconcile import EarlierJobs
from encord_provider.ingest.report import (
    asset_counts,
    dry_run_report,
    is_news,
    run_report,
    summary_text,
    write_report,
)
from encord_provider.ingest.stores import (
    checked_source,
    checked_staging,
    conditional,
    lease_key,
    ledger_prefix,
    naming_the_bucket,
    source_store,
    staging_store,
)
from encord_provider.ingest.targets import mark_datasets_complete, resolve_targets
from encord_provider.ledger import Ledger, ObjectState
from encord_provider.ledger.watermark import partial_run_reason
from encord_provider.operators.failures import fail_fast, raise_for_event
from encord_provider.operators.links import EncordDatasetLink, EncordFolderLink
from encord_provider.reports import write_html_report
from encord_provider.storage.base import ConditionalStore
from encord_provider.triggers.upload_job import UploadJobTrigger

log = logging.getLogger(__name__)


def _staging(pipeline: IngestPipeline) -> ConditionalStore:
    with naming_the_bucket(pipeline, "staging"):
        return conditional(pipeline, staging_store(pipeline))


def _lease(pipeline: IngestPipeline, staging: ConditionalStore) -> PipelineLease:
    return PipelineLease(staging, lease_key(pipeline), pipeline.lease.ttl_minutes * 60)


def _ledger(pipeline: IngestPipeline, staging: ConditionalStore) -> Ledger:
    return Ledger(staging, ledger_prefix(pipeline))


def renew(pipeline: IngestPipeline, staging: ConditionalStore, targets: dict[str, Any]) -> None:
    """Every step of a run that writes renews its lease first (LeaseLostError if another run took it)."""
    if targets.get("lease_token"):
        _lease(pipeline, staging).renew(targets["lease_token"])


def lease_for_trigger(pipeline: IngestPipeline, targets: dict[str, Any]) -> dict[str, Any] | None:
    if not targets.get("lease_token"):
        return None
    staging = pipeline.staging
    return {"scheme": staging.scheme, "bucket": staging.bucket, "conn_id": staging.conn_id,
            "endpoint_url": staging.endpoint_url, "key": lease_key(pipeline), "token": targets["lease_token"],
            "ttl_seconds": pipeline.lease.ttl_minutes * 60}  # fmt: skip


# -- the steps -------------------------------------------------------------------------------------


def prepare_step(
    pipeline: IngestPipeline, params: dict[str, Any], dag_id: str, run_id: str
) -> dict[str, Any]:
    """Check the stores, take the pipeline lease, resolve and reconcile the Encord targets."""
    with fail_fast():
        checked_source(pipeline)  # before anything is created in Encord
        staging = checked_staging(pipeline)
        if RunOptions.from_params(params).dry_run:
            return {"dry_run": True}
        lease = _lease(pipeline, staging)
        token = lease.acquire(f"{dag_id} {run_id}", pipeline.lease.wait_minutes * 60).token
        try:
            api = EncordApi.from_connection(pipeline.encord_conn_id)
            targets = resolve_targets(pipeline, api, staging, _ledger(pipeline, staging).load(), run_id)
        except BaseException:
            lease.release(token)  # the teardown only runs once prepare succeeded
            raise
        targets.lease_token = token
        return targets.to_xcom()


def plan_step(
    pipeline: IngestPipeline, params: dict[str, Any], run_id: str, targets: dict[str, Any]
) -> list[str]:
    """Settle earlier jobs, list new objects, note bucket changes, write manifests; returns chunk-plan URIs."""
    with fail_fast():
        options = RunOptions.from_params(params)
        staging = _staging(pipeline)
        if not options.dry_run:
            renew(pipeline, staging, targets)
        ledger = _ledger(pipeline, staging).load()
        settled: dict[str, int] = {}
        api = None if options.dry_run else EncordApi.from_connection(pipeline.encord_conn_id)
        if api is not None:
            settled = EarlierJobs(
                staging=staging, ledger=ledger, api=api, folder_uuid=targets["folder_uuid"],
                settle_seconds=pipeline.registration.unknown_job_settle_minutes * 60,
                max_attempts=pipeline.ledger.max_attempts,
            ).settle()  # fmt: skip
            if settled:
                log.info("settled objects of earlier upload jobs: %s", settled)
        with naming_the_bucket(pipeline, "source"):
            result = plan_run(pipeline, options, run_id, source_store(pipeline), staging, ledger)
        applied = apply_policies(pipeline, api, result.changes) if api is not None else {}
        summary = {**result.summary(), "settled_earlier": settled, "bucket_change_actions": applied}
        staging.write_bytes(plan_summary_key(pipeline, run_id, options.dry_run),
                            json.dumps(summary, indent=1, default=str).encode(), "application/json")  # fmt: skip
        log.info(
            "listing %s; planned %d objects in %d entries and %d chunks, rejected %d, already known %d%s",
            result.listing, result.planned, result.entries, len(result.plan_uris), result.rejected,
            result.skipped_known, " (dry run: nothing registered)" if options.dry_run else "",
        )  # fmt: skip
        if options.dry_run:
            return []
        partial = partial_run_reason(options, pipeline.source.prefix, DATA_TYPES)
        if partial:
            log.info("the watermark stays where it is: this run is limited by %s", partial)
        elif result.newest:  # read by finalize to move the watermark
            staging.write_bytes(
                f"{run_prefix(pipeline, run_id)}/newest.txt", result.newest.encode(), "text/plain"
            )
        return result.plan_uris


def link_step(pipeline: IngestPipeline, targets: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Resolve skipped duplicates, then link every ready item into the datasets (and backfill new ones)."""
    if targets.get("dry_run"):
        return {"dry_run": True}
    with fail_fast():
        staging = _staging(pipeline)
        renew(pipeline, staging, targets)
        api = EncordApi.from_connection(pipeline.encord_conn_id)
        ledger = _ledger(pipeline, staging).load()
        resolved = resolve_duplicates(ledger, api, targets["folder_uuid"], source_store(pipeline).object_url)
        ledger.write(resolved, writer=f"resolve:{run_id}")
        result = link_ready_items(ledger, api, targets["dataset_hashes"], run_id, targets.get("backfill"))
        lineage.report_linking(pipeline.encord_conn_id, targets["folder_uuid"], targets["dataset_hashes"])
        mark_datasets_complete(pipeline, staging, targets["dataset_hashes"])
        return result


def finalize_step(
    pipeline: IngestPipeline, params: dict[str, Any], run_id: str, chunk_results: Sequence[dict[str, Any]] | None,
    link_result: dict[str, Any] | None, targets: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Move the watermark, compact the ledger, write the run report; returns its summary and the counts
    the Asset event carries."""
    with fail_fast():
        staging = _staging(pipeline)
        base = run_prefix(pipeline, run_id)
        options = RunOptions.from_params(params)
        plan = _read_json(staging, plan_summary_key(pipeline, run_id, options.dry_run))
        if options.dry_run:  # the run's folder holds nothing else: its report.json, as for other runs
            report = dry_run_report(pipeline, run_id, plan)
            report["report_uri"] = write_report(staging, f"{base}/report.json", report)
            html_uri = write_html_report(staging, f"{base}/report.json", report)
            log.info("%s\nreport: %s (as a page: %s)", summary_text(report), report["report_uri"], html_uri)
            return {"report_uri": report["report_uri"], "dry_run": True, "would_register": report["would_register"],
                    "states": {}, "failed": 0, "asset": None}  # fmt: skip
        renew(pipeline, staging, targets or {})
        ledger = _ledger(pipeline, staging).load()
        newest = _read_text(staging, f"{base}/newest.txt")  # only complete runs leave it (plan_step)
        if newest:
            advance_watermark(ledger, newest, run_id)
        if (plan.get("listing") or {}).get("full_listing"):  # a pruned run may skip old partitions after this
            note_full_listing(staging, ledger_prefix(pipeline), run_id)
        ledger.compact(pipeline.ledger.compaction_grace_seconds)
        chunks, link = list(chunk_results or []), link_result or {}
        counts = asset_counts(chunks, link, plan.get("settled_earlier") or {})
        extra = {"dry_run": False, "chunks": chunks, "link": link, "plan": plan, "newly": counts,
                 "bucket_changes": plan.get("bucket_changes", {}), "reconciled": (targets or {}).get("reconciled", {}),
                 "ledger_problems": [p.to_json() for p in ledger.problems]}  # fmt: skip
        report = run_report(pipeline, ledger, run_id, staging.uri(base), extra)
        report["report_uri"] = write_report(staging, f"{base}/report.json", report)
        html_uri = write_html_report(staging, f"{base}/report.json", report)
        log.info("%s\nreport: %s (as a page: %s)", summary_text(report), report["report_uri"], html_uri)
        failed = report["states"].get("failed", 0)
        return {
            "report_uri": report["report_uri"],
            "states": report["states"],
            "failed": failed,
            "asset": counts,
        }


def announce_step(
    pipeline: IngestPipeline, finalized: dict[str, Any], run_id: str, outlet_events: Any
) -> dict[str, Any]:
    """Emit the ingest Asset event, with the counts in `extra`, only when something was newly registered
    or linked; otherwise skip (a skipped task emits no event, so dry and no-op runs wake nobody)."""
    from airflow.sdk import Asset

    counts = finalized.get("asset")
    if not counts or not is_news(counts):
        raise AirflowSkipException("nothing newly registered or linked: no ingest asset event")
    extra = {**counts, "run_id": run_id, "report_uri": finalized.get("report_uri")}
    outlet_events[Asset(pipeline.asset_uri)].extra = extra
    return extra


def release_step(pipeline: IngestPipeline, targets: dict[str, Any] | None) -> bool:
    """Release the run's lease (a teardown: runs when the run failed too)."""
    if not targets or not targets.get("lease_token"):
        return False
    return _lease(pipeline, _staging(pipeline)).release(targets["lease_token"])


def _read_json(staging: ConditionalStore, key: str) -> dict[str, Any]:
    text = _read_text(staging, key)
    return json.loads(text) if text else {}


def _read_text(staging: ConditionalStore, key: str) -> str | None:
    return staging.read_bytes(key).decode() if staging.exists(key) else None


# -- register --------------------------------------------------------------------------------------


class EncordRegisterChunkOperator(BaseOperator):
    """Register one chunk manifest into the pipeline's folder and wait for the upload job (deferrable).

    At most one upload job per chunk: the intent is recorded in staging before a job starts, a retry
    resumes the recorded job, and a job whose id was lost is found through the folder's items
    (`encord_provider.ingest.jobs`).
    """

    operator_extra_links = (EncordFolderLink(), EncordDatasetLink())
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

    def _registration(self) -> ChunkRegistration:
        pipeline, targets = self._pipeline, dict(self.targets)  # type: ignore[arg-type]
        staging = _staging(pipeline)
        renew(pipeline, staging, targets)
        return ChunkRegistration(
            staging=staging, ledger=_ledger(pipeline, staging).scan(), api=EncordApi.from_connection(pipeline.encord_conn_id),
            plan_uri=self.plan_uri, plan=read_plan(staging, self.plan_uri), folder_uuid=targets["folder_uuid"],
            integration_id=targets["integration_id"], settle_seconds=pipeline.registration.unknown_job_settle_minutes * 60,
            poll_seconds=pipeline.upload_poll_seconds, max_attempts=pipeline.ledger.max_attempts,
        )  # fmt: skip

    def execute(self, context: Context) -> Any:
        with fail_fast():
            registration = self._registration()
            return self._follow(registration, registration.next_step())

    def execute_evidence(self, context: Context, event: Any = None) -> Any:
        """Back from waiting for evidence of a job whose id was lost: look again."""
        return self.execute(context)

    def _follow(self, registration: ChunkRegistration, step: RegisterStep) -> Any:
        pipeline = self._pipeline
        if isinstance(step, SettledByEvidence):
            registration.ledger.write(step.records, writer=f"evidence:{self.plan_uri}")
            return self._summary(registration, "", DONE, step.records)
        if isinstance(step, AwaitEvidence):
            from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

            delay = max(pipeline.registration.first_poll_seconds, step.retry_in)
            self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=delay)), method_name="execute_evidence")
        assert not isinstance(step, AwaitEvidence)
        state = registration.api.upload_job(
            registration.folder_uuid, step.job_id, wait_seconds=pipeline.registration.sync_wait_seconds
        )
        if state.finished:  # short jobs end here, without a deferral (and so without apache/airflow#71580)
            return self._complete(registration, step.job_id, state)
        targets = dict(self.targets)  # type: ignore[arg-type]
        self.defer(
            trigger=UploadJobTrigger(
                encord_conn_id=pipeline.encord_conn_id,
                folder_uuid=registration.folder_uuid,
                upload_job_id=step.job_id,
                poll_interval=pipeline.upload_poll_seconds,
                timeout_seconds=pipeline.upload_timeout_minutes * 60,
                first_poll_delay=pipeline.registration.first_poll_seconds,
                lease=lease_for_trigger(pipeline, targets),
            ),
            method_name="execute_complete",
            timeout=timedelta(minutes=pipeline.upload_timeout_minutes + 5),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        with fail_fast():
            status = (event or {}).get("status")
            if status == "lease_lost":
                raise LeaseLostError(str((event or {}).get("error")))
            if not is_finished(status):
                # Objects stay `submitted`; a retry resumes the same job, the next run settles it.
                raise_for_event(event or {}, f"upload job for {self.plan_uri} did not finish ({status})")
            registration = self._registration()
            job_id = str((event or {})["upload_job_id"])
            return self._complete(
                registration, job_id, registration.api.upload_job(registration.folder_uuid, job_id)
            )

    def _complete(self, registration: ChunkRegistration, job_id: str, state: JobState) -> dict[str, Any]:
        records = registration.finish(job_id, state)
        registration.ledger.write(records, writer=f"result:{job_id}")
        return self._summary(registration, job_id, state.status, records)

    def _summary(
        self, registration: ChunkRegistration, job_id: str, status: str, records: list[Any]
    ) -> dict[str, Any]:
        counts = {str(s): sum(1 for r in records if r.state == s) for s in
                  (ObjectState.REGISTERED, ObjectState.DUPLICATE, ObjectState.FAILED, ObjectState.REJECTED)}  # fmt: skip
        entries = len({r.entry for r in records})
        pipeline = self._pipeline
        lineage.report_registration(
            pipeline.encord_conn_id, lineage.source_uri(pipeline), registration.folder_uuid
        )
        self.log.info(
            "upload job %s for %s: %d entries (%d objects): %d objects registered, %d already in the folder, "
            "%d failed, %d rejected", job_id or "(found in the folder)", registration.plan.name, entries, len(records),
            counts["registered"], counts["duplicate"], counts["failed"], counts["rejected"],
        )  # fmt: skip
        return {"plan_uri": self.plan_uri, "upload_job_id": job_id, "status": status, "entries": entries,
                "objects": len(records), **counts}  # fmt: skip
