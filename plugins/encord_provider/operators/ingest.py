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
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException

from encord_provider import lineage
from encord_provider.config.ingest import DATA_TYPES, IngestPipeline
from encord_provider.encord_api import EncordApi, JobState, is_finished
from encord_provider.encord_api.jobs import DONE
from encord_provider.ingest.archive import archive_held, with_archive_outcome, write_held
from encord_provider.ingest.batches import BATCH_SUFFIX, ChunkRef, group_chunks, read_batch, write_batches
from encord_provider.ingest.changes import apply_policies
from encord_provider.ingest.chunks import read_plan
from encord_provider.ingest.errors import LeaseLostError
from encord_provider.ingest.jobs import AwaitEvidence, ChunkRegistration, RegisterStep, SettledByEvidence
from encord_provider.ingest.lease import PipelineLease
from encord_provider.ingest.ledger_split import current_ledger_prefixes, split_ledger
from encord_provider.ingest.link import link_ready_items, resolve_duplicates
from encord_provider.ingest.listing_scope import note_full_listing
from encord_provider.ingest.local_upload import LocalChunkUpload
from encord_provider.ingest.plan import RunOptions, advance_watermark, plan_run, plan_summary_key, run_prefix
from encord_provider.ingest.plan_ledger import PlanLedgers, open_plan_ledger, plan_ledgers
from encord_provider.ingest.reconcile import EarlierJobs
from encord_provider.ingest.report import (
    asset_counts,
    dry_run_report,
    is_news,
    report_from_part,
    shard_part,
    summary_text,
    write_report,
)
from encord_provider.ingest.shard_run import fix_run_shards, group_count, group_file, merged, read_group
from encord_provider.ingest.shards import (
    SINGLE_SHARD,
    Shard,
    is_sharded,
    pipeline_ledger_prefix,
    shard_ledger_prefix,
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
    uploads_prefix,
)
from encord_provider.ingest.targets import mark_datasets_complete, resolve_targets
from encord_provider.ledger import Ledger, ObjectState
from encord_provider.ledger.ledger import DEFERRED_WATERMARKS
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


def _ledger(pipeline: IngestPipeline, staging: ConditionalStore, shard_id: str = SINGLE_SHARD) -> Ledger:
    """The ledger of one shard (the pipeline's only ledger when it is not sharded)."""
    return Ledger(staging, shard_ledger_prefix(pipeline, shard_id))


def _shard_ledgers(pipeline: IngestPipeline, staging: ConditionalStore) -> Callable[[], Iterator[Ledger]]:
    """Every shard's ledger, loaded one at a time (the previous one is closed first)."""

    def each() -> Iterator[Ledger]:
        for prefix in current_ledger_prefixes(staging, pipeline):
            ledger = Ledger(staging, prefix).load()
            yield ledger
            ledger.records.close()

    return each


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
    """Check the stores, take the pipeline lease, split the ledger into shards if the layout changed,
    resolve and reconcile the Encord targets."""
    with fail_fast():
        checked_source(pipeline)  # before anything is created in Encord
        staging = checked_staging(pipeline)
        if RunOptions.from_params(params).dry_run:
            return {"dry_run": True}
        lease = _lease(pipeline, staging)
        token = lease.acquire(f"{dag_id} {run_id}", pipeline.lease.wait_minutes * 60).token
        try:
            split = split_ledger(staging, pipeline, run_id)
            api = EncordApi.from_connection(pipeline.encord_conn_id)
            targets = resolve_targets(pipeline, api, staging, _shard_ledgers(pipeline, staging), run_id)
        except BaseException:
            lease.release(token)  # the teardown only runs once prepare succeeded
            raise
        targets.lease_token = token
        if split:
            targets.reconciled["ledger_split"] = {"to": split["to"], "records": sum(split["records_by_shard"].values()),
                                                  "left_out": split["left_out"],
                                                  "old_files_deleted": split["old_files_deleted"]}  # fmt: skip
        return targets.to_xcom()


def shards_step(pipeline: IngestPipeline, run_id: str, params: dict[str, Any] | None = None) -> list[int]:
    """Fix the run's shards (a derived layout lists one level of the source) in at most 1,024 groups;
    returns the group numbers, which plan and link are expanded over."""
    with fail_fast():
        staging = _staging(pipeline)
        with naming_the_bucket(pipeline, "source"):
            options = RunOptions.from_params(params or {})
            return list(range(fix_run_shards(staging, source_store(pipeline), pipeline, run_id, options)))


def plan_step(
    pipeline: IngestPipeline, params: dict[str, Any], run_id: str, targets: dict[str, Any], group: int = 0
) -> list[str]:
    """For each shard of `group`: settle earlier jobs, list new objects, note bucket changes, write
    manifests. Returns the URIs of register batches (several chunk plans each, when there are many)."""
    with fail_fast():
        options = RunOptions.from_params(params)
        staging = _staging(pipeline)
        if not options.dry_run:
            renew(pipeline, staging, targets)
        shards, groups = read_group(staging, pipeline, run_id, group)
        api = None if options.dry_run else EncordApi.from_connection(pipeline.encord_conn_id)
        with naming_the_bucket(pipeline, "source"):
            source = source_store(pipeline)
        summaries, chunks, newest = [], [], []
        ledgers = plan_ledgers(staging, pipeline)  # the pipeline watermark; the unsplit ledger in a dry run
        for shard in shards:
            summary, shard_chunks, shard_newest = _plan_shard(
                pipeline, options, run_id, targets, api, staging, source, shard, ledgers
            )
            summaries.append(summary)
            chunks += shard_chunks
            newest += [shard_newest] if shard_newest else []
        summary_key = plan_summary_key(pipeline, run_id, options.dry_run).removesuffix("/plan.json")
        staging.write_bytes(group_file(summary_key, "plan", group, groups),
                            json.dumps(merged(summaries), indent=1, default=str).encode(), "application/json")  # fmt: skip
        if options.dry_run:
            return []
        partial = partial_run_reason(options, pipeline.source.prefix, DATA_TYPES)
        if partial:
            log.info("the watermark stays where it is: this run is limited by %s", partial)
        elif newest:  # read by finalize to move the watermark
            key = group_file(run_prefix(pipeline, run_id), "newest", group, groups, ".txt")
            staging.write_bytes(key, max(newest).encode(), "text/plain")
        budget = max(1, pipeline.shards.max_register_tasks // groups)
        batches = group_chunks(chunks, budget, pipeline.shards.min_entries_per_register_task)
        log.info(
            "%d chunks in %d register batches (at most %d for this group)", len(chunks), len(batches), budget
        )
        return write_batches(staging, run_prefix(pipeline, run_id), batches)


def _plan_shard(
    pipeline: IngestPipeline, options: RunOptions, run_id: str, targets: dict[str, Any], api: EncordApi | None,
    staging: ConditionalStore, source: Any, shard: Shard, ledgers: PlanLedgers,
) -> tuple[dict[str, Any], list[ChunkRef], str | None]:  # fmt: skip
    """Plan one shard against its own ledger: (summary, its chunks, the newest object it listed). The
    ledger is opened, not loaded: only what the listing asks for is read (ledger/index.py)."""
    ledger = open_plan_ledger(staging, pipeline, shard.id, ledgers)
    settled: dict[str, int] = {}
    if api is not None:
        settled = EarlierJobs(
            staging=staging, ledger=ledger, api=api, folder_uuid=targets["folder_uuid"],
            settle_seconds=pipeline.registration.unknown_job_settle_minutes * 60,
            max_attempts=pipeline.ledger.max_attempts,
        ).settle()  # fmt: skip
        if settled:
            log.info("settled objects of earlier upload jobs: %s", settled)
    with naming_the_bucket(pipeline, "source"):
        sharded = shard if is_sharded(pipeline) else None
        result = plan_run(
            pipeline, options, run_id, source, staging, ledger, sharded, watermark=ledgers.watermark
        )
    ledger.close()
    applied = apply_policies(pipeline, api, result.changes) if api is not None else {}
    if api is not None and result.changes.hold_deletions:  # archived by `archive` once approved
        write_held(staging, run_prefix(pipeline, run_id), shard.id, ledger.prefix, result.changes.held)
    log.info(
        "%slisting %s; planned %d objects in %d entries and %d chunks, rejected %d, already known %d%s",
        f"shard {shard.id}: " if sharded else "", result.listing, result.planned, result.entries,
        len(result.plan_uris), result.rejected, result.skipped_known,
        " (dry run: nothing registered)" if options.dry_run else "",
    )  # fmt: skip
    chunks = [
        ChunkRef(uri, ledger.prefix, entries)
        for uri, entries in zip(result.plan_uris, result.chunk_entries, strict=True)
    ]
    summary = {**result.summary(), "settled_earlier": settled, "bucket_change_actions": applied}
    return summary, chunks, result.newest


def _writer(pipeline: IngestPipeline, targets: dict[str, Any]) -> tuple[ConditionalStore, EncordApi]:
    """The staging store (lease renewed) and the Encord gateway of a step that writes."""
    staging = _staging(pipeline)
    renew(pipeline, staging, targets)
    return staging, EncordApi.from_connection(pipeline.encord_conn_id)


def archive_step(pipeline: IngestPipeline, targets: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Archive the deletions plan held for approval (runs only once `approve_archive` let it)."""
    if targets.get("dry_run"):
        return {"dry_run": True}
    with fail_fast():
        staging, api = _writer(pipeline, targets)
        return archive_held(staging, api, run_prefix(pipeline, run_id), writer=f"archive:{run_id}")


def link_step(
    pipeline: IngestPipeline, targets: dict[str, Any], run_id: str, group: int = 0
) -> dict[str, Any]:
    """For each shard of `group`: resolve skipped duplicates, link every ready item into the datasets
    (and backfill new ones); a sharded pipeline then compacts the shard's ledger and leaves its part of
    the run report (`link-gNNNN.json`) for finalize."""
    if targets.get("dry_run"):
        return {"dry_run": True}
    with fail_fast():
        staging, api = _writer(pipeline, targets)
        shards, groups = read_group(staging, pipeline, run_id, group)
        url_of = source_store(pipeline).object_url
        results, parts = [], []
        for shard in shards:
            ledger = _ledger(pipeline, staging, shard.id).open()  # blocks fetched as asked
            resolved = resolve_duplicates(ledger, api, targets["folder_uuid"], url_of)
            ledger.write(resolved, writer=f"resolve:{run_id}")
            results.append(
                link_ready_items(ledger, api, targets["dataset_hashes"], run_id, targets.get("backfill"))
            )
            if is_sharded(pipeline):
                ledger.compact(pipeline.ledger.compaction_grace_seconds)  # incremental: this shard only
                parts.append(shard_part(ledger, staging.uri(run_prefix(pipeline, run_id))))
            ledger.close()
        lineage.report_linking(pipeline.encord_conn_id, targets["folder_uuid"], targets["dataset_hashes"])
        if parts:
            key = group_file(run_prefix(pipeline, run_id), "link", group, groups)
            staging.write_bytes(key, json.dumps(merged(parts), default=str).encode(), "application/json")
        return merged(results)


def finalize_step(
    pipeline: IngestPipeline, params: dict[str, Any], run_id: str, chunk_results: Sequence[Any] | None,
    link_result: dict[str, Any] | Sequence[dict[str, Any]] | None, targets: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Move the watermark, compact the pipeline ledger, write the run report; returns its summary and the
    counts the Asset event carries. `chunk_results` are the register tasks' summaries (a list per batch)
    and `link_result` the link tasks' results (one per group)."""
    with fail_fast():
        staging = _staging(pipeline)
        base = run_prefix(pipeline, run_id)
        options = RunOptions.from_params(params)
        groups = group_count(staging, pipeline, run_id)
        plan = run_plan_summary(staging, pipeline, run_id, options.dry_run)
        if options.dry_run:  # the run's folder holds nothing else: its report.json, as for other runs
            report = dry_run_report(pipeline, run_id, plan)
            report["report_uri"] = write_report(staging, f"{base}/report.json", report)
            html_uri = write_html_report(staging, f"{base}/report.json", report)
            log.info("%s\nreport: %s (as a page: %s)", summary_text(report), report["report_uri"], html_uri)
            return {"report_uri": report["report_uri"], "dry_run": True, "would_register": report["would_register"],
                    "states": {}, "failed": 0, "asset": None}  # fmt: skip
        renew(pipeline, staging, targets or {})
        ledger = Ledger(staging, pipeline_ledger_prefix(pipeline)).open()  # sharded: the watermark only
        newest = [
            t
            for g in range(groups)
            if (t := _read_text(staging, group_file(base, "newest", g, groups, ".txt")))
        ]
        if newest:  # only complete runs leave them (plan_step)
            advance_watermark(ledger, max(newest), run_id)
        if (plan.get("listing") or {}).get("full_listing"):  # a pruned run may skip old partitions after this
            note_full_listing(staging, ledger_prefix(pipeline), run_id)
        ledger.compact(pipeline.ledger.compaction_grace_seconds, DEFERRED_WATERMARKS)  # no-op: no rewrite
        if targets and targets.get("dataset_hashes") is not None:
            mark_datasets_complete(pipeline, staging, targets["dataset_hashes"])
        chunks = _flat(chunk_results)
        link = merged(link_result) if isinstance(link_result, Sequence) else (link_result or {})
        counts = asset_counts(chunks, link, plan.get("settled_earlier") or {})
        if is_sharded(pipeline):
            part = merged(_read_json(staging, group_file(base, "link", g, groups)) for g in range(groups))
        else:
            part = shard_part(ledger, staging.uri(base))
        extra = {"dry_run": False, "chunks": chunks, "link": link, "plan": plan, "newly": counts,
                 "bucket_changes": with_archive_outcome(staging, base, plan.get("bucket_changes") or {}), "reconciled": (targets or {}).get("reconciled", {}),
                 "ledger_problems": [*part.get("ledger_problems", []), *(p.to_json() for p in ledger.problems if is_sharded(pipeline))]}  # fmt: skip
        report = report_from_part(pipeline, part, ledger.watermark.to_json(), run_id, extra)
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


def run_plan_summary(
    staging: ConditionalStore, pipeline: IngestPipeline, run_id: str, dry_run: bool
) -> dict[str, Any]:
    """The run's plan summary, merged over its shard groups."""
    key = plan_summary_key(pipeline, run_id, dry_run)
    return _merged_plan(staging, key, group_count(staging, pipeline, run_id))


def _merged_plan(staging: ConditionalStore, key: str, groups: int) -> dict[str, Any]:
    """The plan summary of the run: the one group's, or every group's merged (then also saved as plan.json)."""
    if groups == 1:
        return _read_json(staging, key)
    plan = merged(
        _read_json(staging, group_file(key.removesuffix("/plan.json"), "plan", g, groups))
        for g in range(groups)
    )
    staging.write_bytes(key, json.dumps(plan, indent=1, default=str).encode(), "application/json")
    return plan


def _flat(results: Sequence[Any] | None) -> list[dict[str, Any]]:
    """Register results: a chunk summary, or a list of them (a batch)."""
    flat: list[dict[str, Any]] = []
    for result in results or []:
        flat += result if isinstance(result, list) else [result]
    return flat


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
    """Register the chunks of one batch (or one chunk manifest) into the pipeline's folder, one after
    the other, waiting for each upload job (deferrable).

    At most one upload job per chunk: the intent is recorded in staging before a job starts, a retry
    resumes the recorded job, and a job whose id was lost is found through the folder's items
    (`encord_provider.ingest.jobs`). A retry of the batch redoes each chunk through the same logic, so
    chunks already finished are settled from their recorded job, never sent again. Each chunk's results
    go to its own shard's ledger.
    """

    operator_extra_links = (EncordFolderLink(), EncordDatasetLink())
    template_fields: Sequence[str] = ("plan_uri", "targets")
    ui_color = "#e0d4fb"

    def __init__(
        self, *, pipeline: dict[str, Any], plan_uri: str, targets: dict[str, Any] | str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.plan_uri = plan_uri  # a register batch (`.batch.json`) or one chunk plan (`.plan.json`)
        self.targets = targets

    @property
    def _pipeline(self) -> IngestPipeline:
        return IngestPipeline.model_validate(self.pipeline)

    def _chunks(self) -> list[ChunkRef]:
        pipeline = self._pipeline
        return read_batch(_staging(pipeline), self.plan_uri, shard_ledger_prefix(pipeline, SINGLE_SHARD))

    def _registration(self, chunk: ChunkRef) -> ChunkRegistration:
        pipeline, targets = self._pipeline, dict(self.targets)  # type: ignore[arg-type]
        staging = _staging(pipeline)
        renew(pipeline, staging, targets)
        return ChunkRegistration(
            staging=staging, ledger=Ledger(staging, chunk.ledger_prefix).scan(), api=EncordApi.from_connection(pipeline.encord_conn_id),
            plan_uri=chunk.plan_uri, plan=read_plan(staging, chunk.plan_uri), folder_uuid=targets["folder_uuid"],
            integration_id=targets["integration_id"], settle_seconds=pipeline.registration.unknown_job_settle_minutes * 60,
            poll_seconds=pipeline.upload_poll_seconds, max_attempts=pipeline.ledger.max_attempts,
        )  # fmt: skip

    def execute(self, context: Context) -> Any:
        return self._register_from(0, [])

    def execute_evidence(
        self, context: Context, event: Any = None, position: int = 0, done: list[dict[str, Any]] | None = None
    ) -> Any:
        """Back from waiting for evidence of a job whose id was lost: look again."""
        return self._register_from(position, list(done or []))

    def _register_from(self, position: int, done: list[dict[str, Any]]) -> Any:
        """Register chunks `position`.. of the batch; `done` holds the summaries of those before."""
        with fail_fast():
            chunks = self._chunks()
            for index in range(position, len(chunks)):
                if self._pipeline.source.is_local:  # uploaded file by file, no upload job to wait on
                    done = [*done, self._upload_local(chunks[index])]
                    continue
                registration = self._registration(chunks[index])
                done = [*done, self._follow(registration, registration.next_step(), index, done)]
            return self._result(done)

    def _upload_local(self, chunk: ChunkRef) -> dict[str, Any]:
        """A local source's chunk: each entry through the SDK's upload calls (`ingest.local_upload`)."""
        pipeline, targets = self._pipeline, dict(self.targets)  # type: ignore[arg-type]
        staging = _staging(pipeline)
        renew(pipeline, staging, targets)
        upload = LocalChunkUpload(
            staging=staging, ledger=Ledger(staging, chunk.ledger_prefix).scan(), api=EncordApi.from_connection(pipeline.encord_conn_id),
            source=source_store(pipeline), plan_uri=chunk.plan_uri, plan=read_plan(staging, chunk.plan_uri),
            folder_uuid=targets["folder_uuid"], markers_prefix=uploads_prefix(pipeline),
            settle_seconds=pipeline.registration.unknown_job_settle_minutes * 60, max_attempts=pipeline.ledger.max_attempts,
        )  # fmt: skip
        return self._summary(upload, "", DONE, upload.run())

    def _result(self, done: list[dict[str, Any]]) -> Any:
        """One summary for a chunk-plan URI (as before batches), a list of them for a batch."""
        return done if self.plan_uri.endswith(BATCH_SUFFIX) else done[0]

    def _follow(
        self, registration: ChunkRegistration, step: RegisterStep, position: int, done: list[dict[str, Any]]
    ) -> dict[str, Any]:
        pipeline = self._pipeline
        resume = {"position": position, "done": done}
        if isinstance(step, SettledByEvidence):
            registration.ledger.write(step.records, writer=f"evidence:{registration.plan_uri}")
            return self._summary(registration, "", DONE, step.records)
        if isinstance(step, AwaitEvidence):
            from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

            delay = max(pipeline.registration.first_poll_seconds, step.retry_in)
            self.defer(
                trigger=TimeDeltaTrigger(timedelta(seconds=delay)),
                method_name="execute_evidence",
                kwargs=resume,
            )
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
            kwargs=resume,
            timeout=timedelta(minutes=pipeline.upload_timeout_minutes + 5),
        )
        raise AssertionError("defer() returns only by raising")  # pragma: no cover

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, position: int = 0,
        done: list[dict[str, Any]] | None = None,
    ) -> Any:  # fmt: skip
        with fail_fast():
            status = (event or {}).get("status")
            chunk = self._chunks()[position]
            if status == "lease_lost":
                raise LeaseLostError(str((event or {}).get("error")))
            if not is_finished(status):
                # Objects stay `submitted`; a retry resumes the same job, the next run settles it.
                raise_for_event(event or {}, f"upload job for {chunk.plan_uri} did not finish ({status})")
            registration = self._registration(chunk)
            job_id = str((event or {})["upload_job_id"])
            summary = self._complete(
                registration, job_id, registration.api.upload_job(registration.folder_uuid, job_id)
            )
        return self._register_from(position + 1, [*(done or []), summary])

    def _complete(self, registration: ChunkRegistration, job_id: str, state: JobState) -> dict[str, Any]:
        records = registration.finish(job_id, state)
        registration.ledger.write(records, writer=f"result:{job_id}")
        return self._summary(registration, job_id, state.status, records)

    def _summary(
        self, registration: ChunkRegistration | LocalChunkUpload, job_id: str, status: str, records: list[Any]
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
        return {"plan_uri": registration.plan_uri, "upload_job_id": job_id, "status": status, "entries": entries,
                "objects": len(records), **counts}  # fmt: skip
