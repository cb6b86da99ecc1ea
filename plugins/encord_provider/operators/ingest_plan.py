"""Plan a run: settle jobs left in flight, list new objects (ledger-aware), write chunk manifests + plans.

Plain Python over stores, a ledger and an Encord client, so it is tested without Airflow.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState, Watermark, needs_submission, utc_now
from encord_provider.manifests.rejections import SkipReport
from encord_provider.operators.ingest_chunks import ChunkPlan, PlannedObject, apply_job_result
from encord_provider.operators.ingest_encord import read_upload_job
from encord_provider.operators.ingest_manifest import build_chunk_plans, kind_of
from encord_provider.operators.ingest_stores import key_of_uri, staging_key
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.filters import FilterStats, ListingFilter
from encord_provider.storage.key_order import key_order_of
from encord_provider.storage.records import ObjectRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """The manual-run Params, normalised (empty = use the pipeline config)."""

    prefix: str | None = None
    since: datetime | None = None
    dry_run: bool = False
    data_types: tuple[str, ...] = ()
    max_objects: int = 0
    chunk_size: int = 0

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> RunOptions:
        since = params.get("since") or None
        return cls(
            prefix=params.get("prefix") or None,
            since=datetime.fromisoformat(since) if isinstance(since, str) else since,
            dry_run=bool(params.get("dry_run", False)),
            data_types=tuple(params.get("data_types") or ()),
            max_objects=int(params.get("max_objects") or 0),
            chunk_size=int(params.get("chunk_size") or 0),
        )


@dataclass
class PlanResult:
    plan_uris: list[str] = field(default_factory=list)
    planned: int = 0
    rejected: int = 0
    skipped_known: int = 0
    reconciled: dict[str, int] = field(default_factory=dict)
    listing: dict[str, Any] = field(default_factory=dict)
    newest: str | None = None


def run_prefix(pipeline: IngestPipeline, run_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    return staging_key(pipeline, "runs", pipeline.name, safe)


def read_plan(staging: ObjectStore, plan_uri: str) -> ChunkPlan:
    return ChunkPlan.from_json(json.loads(staging.read_bytes(key_of_uri(staging, plan_uri))))


def reconcile_submitted(
    pipeline: IngestPipeline, ledger: Ledger, staging: ObjectStore, client: Any, folder_uuid: str
) -> dict[str, int]:
    """Settle objects whose upload job was started by an earlier (possibly crashed) run.

    Finished jobs are applied to the ledger; jobs still running keep their objects out of this run;
    a job Encord no longer knows sends its objects back for a retry.
    """
    by_job: dict[tuple[str, str], list[LedgerRecord]] = defaultdict(list)
    for record in ledger.in_state(ObjectState.SUBMITTED):
        by_job[(record.upload_job_id or "", record.chunk or "")].append(record)
    outcome: dict[str, int] = defaultdict(int)
    for (job_id, plan_uri), records in by_job.items():
        updates = _settle_job(pipeline, staging, client, folder_uuid, job_id, plan_uri, records)
        ledger.write(updates, writer=f"reconcile:{job_id}")
        for record in updates:
            outcome[str(record.state)] += 1
        outcome["in_flight"] += len(records) - len(updates)
    return dict(outcome)


def _settle_job(
    pipeline: IngestPipeline,
    staging: ObjectStore,
    client: Any,
    folder_uuid: str,
    job_id: str,
    plan_uri: str,
    records: list[LedgerRecord],
) -> list[LedgerRecord]:
    from encord.exceptions import ResourceNotFoundError

    try:
        state = read_upload_job(client, folder_uuid, job_id) if job_id else None
    except ResourceNotFoundError:
        state = None
    if state is not None and str(getattr(state.status, "value", state.status)) == "PENDING":
        return []
    if state is None or not plan_uri:
        error = f"upload job {job_id or '?'} is unknown to Encord; retrying"
        return [r.moved(ObjectState.FAILED, error=error) for r in records]
    plan = read_plan(staging, plan_uri)
    previous: dict[str, LedgerRecord | None] = {r.key: r for r in records}
    outcome = apply_job_result(plan, plan_uri, job_id, state, previous, pipeline.ledger.max_attempts)
    return [r for r in outcome.records if r.key in previous]


def listing_filter(pipeline: IngestPipeline, options: RunOptions) -> ListingFilter:
    filters = pipeline.source.filters
    return ListingFilter(
        prefix=options.prefix if options.prefix is not None else pipeline.source.prefix,
        include=tuple(filters.include),
        exclude=tuple(filters.exclude),
        extensions=tuple(filters.extensions),
        min_size=filters.min_size or None,
        max_size=filters.max_size,
        modified_since=options.since,
        sidecar_suffixes=(".encord.json",),
    )


def _candidates(
    pipeline: IngestPipeline,
    options: RunOptions,
    source: ObjectStore,
    ledger: Ledger,
    stats: FilterStats,
    known: FilterStats,
) -> Iterator[ObjectRecord]:
    """Listed objects that pass the filters, the run's type selection and the ledger; every other one is
    counted in `stats` (and reported through its `on_skip`) with its reason. Objects the ledger already
    accounts for are also counted in `known`, so they still move the watermark of a full run."""
    listing = listing_filter(pipeline, options)
    taken = [0]

    def run_checks(record: ObjectRecord) -> str | None:
        if options.data_types and kind_of(record.key) not in options.data_types:
            return "data_type"
        if not needs_submission(ledger.get(record.key), record.etag):
            known.observe(record, None)
            return "already_in_ledger"
        if options.max_objects and taken[0] >= options.max_objects:
            return "max_objects"
        taken[0] += 1
        return None

    return listing.apply(source.list_objects(prefix=listing.prefix), stats, run_checks)


def plan_run(
    pipeline: IngestPipeline,
    options: RunOptions,
    run_id: str,
    source: ObjectStore,
    staging: ObjectStore,
    ledger: Ledger,
) -> PlanResult:
    """Write this run's manifests and chunk plans to staging; record pending/rejected objects."""
    skips = SkipReport()
    stats = FilterStats(on_skip=skips.add)
    base = run_prefix(pipeline, run_id) + ("/dry-run" if options.dry_run else "")
    etags: dict[str, str] = {}
    known = FilterStats()
    candidates = (
        _remember_etag(r, etags) for r in _candidates(pipeline, options, source, ledger, stats, known)
    )
    try:
        built = build_chunk_plans(
            candidates, pipeline, options.chunk_size, staging, f"{base}/chunks", key_order_of(source), skips
        )
    finally:
        skips.close()
    result = PlanResult(
        listing={
            "seen": stats.seen,
            "kept": stats.kept,
            "skipped": dict(stats.skipped),
            "skipped_uri": built.skipped_uri,
        },  # fmt: skip
        newest=_newest(stats, known),
    )
    pending: list[LedgerRecord] = []
    for plan in built.plans:
        plan.entries = {
            title: [_with_attempts(o, ledger.get(o.key)) for o in objs]
            for title, objs in plan.entries.items()
        }
        plan_key = key_of_uri(staging, plan.manifest_uri).removesuffix(".json") + ".plan.json"
        staging.write_bytes(plan_key, plan.dumps(), "application/json")
        plan_uri = staging.uri(plan_key)
        result.plan_uris.append(plan_uri)
        for title, objects in plan.entries.items():
            for obj in objects:
                pending.append(
                    LedgerRecord(
                        key=obj.key, etag=obj.etag, state=ObjectState.PENDING, chunk=plan_uri, entry=title,
                        attempts=obj.attempts,
                    )
                )  # fmt: skip
    rejected = [
        LedgerRecord(
            key=key,
            etag=etags.get(key, ""),
            state=ObjectState.REJECTED,
            error=reason,
            chunk=built.rejections_uri,
        )
        for key, reason in built.rejections.items()
    ]
    result.planned, result.rejected = len(pending), len(rejected)
    result.skipped_known = stats.skipped.get("already_in_ledger", 0)
    if options.dry_run:
        return result
    ledger.write([*pending, *rejected], writer=f"plan:{run_id}")
    return result


def _newest(*stats: FilterStats) -> str | None:
    """The newest last_modified over planned and already-known objects (never skipped ones)."""
    stamps = [s.max_last_modified for s in stats if s.max_last_modified is not None]
    return max(stamps).isoformat() if stamps else None


def _remember_etag(record: ObjectRecord, etags: dict[str, str]) -> ObjectRecord:
    etags[record.key] = record.etag
    return record


def _with_attempts(obj: PlannedObject, previous: LedgerRecord | None) -> PlannedObject:
    """Carry the failure count of a retried object (a changed rejected object starts again at 0)."""
    if previous is None or previous.state != ObjectState.FAILED:
        return obj
    return PlannedObject(obj.key, obj.etag, obj.url, previous.attempts)


def advance_watermark(ledger: Ledger, newest: str | None, run_id: str) -> Watermark:
    """Move the watermark to the newest object this run planned (never backwards)."""
    current = ledger.watermark.last_modified
    if newest and current and datetime.fromisoformat(current) > datetime.fromisoformat(newest):
        newest = current
    mark = Watermark(last_modified=newest or current, listed_at=utc_now(), run_id=run_id)
    ledger.write([], watermark=mark, writer=f"watermark:{run_id}")
    return mark


def _write_json(staging: ObjectStore, key: str, data: Any) -> str:
    staging.write_bytes(key, json.dumps(data, indent=1, default=str).encode(), "application/json")
    return staging.uri(key)
