"""Plan a run: list new objects (ledger-aware), write chunk manifests + plans, note bucket changes.

Plain Python over stores and a ledger, so it is tested without Airflow.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from encord_provider.config.ingest import DATA_TYPES, IngestPipeline
from encord_provider.ingest.changes import BucketChanges, is_overwritten, note_deleted, note_overwritten
from encord_provider.ingest.chunks import PlannedObject
from encord_provider.ingest.errors import PermanentIngestError
from encord_provider.ingest.listing_scope import (
    ListingScope,
    ListRange,
    listing_scope,
    read_last_full_listing,
    whole_prefix,
)
from encord_provider.ingest.manifest import PlannedChunks, build_chunk_plans, kind_of
from encord_provider.ingest.shards import Shard, in_shard
from encord_provider.ingest.shared_listing import read_scope, read_shard_file
from encord_provider.ingest.stores import key_of_uri, ledger_prefix, staging_key
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState, Watermark, needs_submission, utc_now
from encord_provider.ledger.watermark import partial_run_reason
from encord_provider.manifests.rejections import SkipReport
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.filters import FilterStats, ListingFilter
from encord_provider.storage.inventory import InventoryError, InventoryStats
from encord_provider.storage.key_order import key_order_of
from encord_provider.storage.listing import open_listing
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
    chunk_entries: list[int] = field(
        default_factory=list
    )  # manifest entries of each chunk (plan_uris' order)
    planned: int = 0  # objects
    entries: int = 0  # manifest entries (an image group or DICOM series is one entry of many objects)
    rejected: int = 0
    skipped_known: int = 0
    listing: dict[str, Any] = field(default_factory=dict)
    newest: str | None = None
    changes: BucketChanges = field(default_factory=BucketChanges)
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    manifest_uris: list[str] = field(default_factory=list)
    rejections_uri: str = ""

    def summary(self) -> dict[str, Any]:
        """What the run report shows about planning (and, for a dry run, what would be registered)."""
        return {
            "objects": self.planned, "entries": self.entries, "rejected": self.rejected,
            "already_known": self.skipped_known, "by_type": self.by_type, "manifests": self.manifest_uris,
            "rejections_uri": self.rejections_uri, "listing": self.listing,
            "bucket_changes": self.changes.report(),
        }  # fmt: skip


def run_prefix(pipeline: IngestPipeline, run_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    return staging_key(pipeline, "runs", pipeline.name, safe)


def plan_summary_key(pipeline: IngestPipeline, run_id: str, dry_run: bool) -> str:
    """Where plan leaves what it did for finalize's report (`plan.json`, or `dry-run/plan.json`)."""
    return f"{run_prefix(pipeline, run_id)}{'/dry-run' if dry_run else ''}/plan.json"


def shard_prefix(prefix: str, shard: Shard | None) -> str | None:
    """What a shard lists of `prefix`: the narrower of the two, None when they do not overlap."""
    if shard is None or prefix.startswith(shard.prefix):
        return prefix
    return shard.prefix if shard.prefix.startswith(prefix) else None


def listing_filter(
    pipeline: IngestPipeline, options: RunOptions, shard: Shard | None = None
) -> ListingFilter:
    filters = pipeline.source.filters
    prefix = options.prefix if options.prefix is not None else pipeline.source.prefix
    return ListingFilter(
        prefix=shard_prefix(prefix, shard) or prefix,
        include=tuple(filters.include),
        exclude=tuple(filters.exclude),
        extensions=tuple(filters.extensions),
        min_size=filters.min_size or None,
        max_size=filters.max_size,
        modified_since=options.since,
        sidecar_suffixes=(".encord.json",),
    )


def _remember_listed(records: Iterator[ObjectRecord], listed: set[str]) -> Iterator[ObjectRecord]:
    for record in records:
        listed.add(record.key)
        yield record


def run_scope(
    pipeline: IngestPipeline,
    options: RunOptions,
    ledger: Ledger,
    staging: ObjectStore,
    now: datetime | None = None,
    watermark: Watermark | None = None,
) -> ListingScope:
    """What this run lists: a manual run narrowed by its prefix or `since` lists that prefix whole; a
    scheduled one may skip the partitions the watermark left behind (ingest.listing_scope). `watermark`:
    the pipeline's, when `ledger` is a shard's (which has none)."""
    prefix = listing_filter(pipeline, options).prefix
    if prefix != pipeline.source.prefix or options.since is not None:
        return whole_prefix(prefix, "a manual run narrowed by its Params")
    mark = (watermark or ledger.watermark).last_modified
    return listing_scope(
        prefix,
        pipeline.source.listing,
        datetime.fromisoformat(mark) if mark else None,
        read_last_full_listing(staging, ledger_prefix(pipeline)),
        now,
    )


def scope_records(
    pipeline: IngestPipeline, source: ObjectStore, scope: ListingScope
) -> Iterator[ObjectRecord]:
    """Every object of `scope` (what the shared listing of hash shards writes out)."""
    return _listing(pipeline, source, scope, InventoryStats(), None)


def _listing(
    pipeline: IngestPipeline,
    source: ObjectStore,
    scope: ListingScope,
    inventory: InventoryStats,
    shard: Shard | None,
) -> Iterator[ObjectRecord]:
    """The records of every range of `scope` (the shard's part of it), in the backend's key order (ranges
    are disjoint prefixes or one StartAfter range), from LIST requests or the inventory (storage.listing)."""
    order = key_order_of(source)
    for part in sorted(scope.ranges, key=lambda r: order(r.prefix)):
        yield from _shard_records(pipeline, source, part, inventory, shard)


def _shard_records(
    pipeline: IngestPipeline,
    source: ObjectStore,
    part: ListRange,
    inventory: InventoryStats,
    shard: Shard | None,
) -> Iterator[ObjectRecord]:
    """The shard's objects in one listing range (every object without shards)."""
    prefix = shard_prefix(part.prefix, shard)
    if prefix is None:
        return iter(())
    if shard is not None and shard.direct_only:  # a derived layout's root shard: one delimiter level
        level = source.list_level(part.prefix)  # type: ignore[attr-defined]  # every real backend browses
        return in_shard((r for r in level if not isinstance(r, str)), shard)
    records = open_listing(pipeline, source, prefix, start_after=part.start_after, stats=inventory)
    return records if shard is None else in_shard(records, shard)


def _candidates(
    pipeline: IngestPipeline, options: RunOptions, source: ObjectStore, ledger: Ledger, stats: FilterStats,
    known: FilterStats, changes: BucketChanges, listed: set[str], records: Iterator[ObjectRecord],
    shard: Shard | None = None,
) -> Iterator[ObjectRecord]:  # fmt: skip
    """Listed objects that pass the filters, the run's type selection and the ledger; every other one is
    counted in `stats` (and reported through its `on_skip`) with its reason. Objects the ledger already
    accounts for are also counted in `known`, so they still move the watermark of a full run. Registered
    objects whose ETag changed are noted in `changes` (not registered again: Encord keys items by URL).
    `listed` collects every key listed, for finding deleted objects."""
    listing = listing_filter(pipeline, options, shard)
    taken = [0]

    def run_checks(record: ObjectRecord) -> str | None:
        if options.data_types and kind_of(record.key) not in options.data_types:
            return "data_type"
        previous = ledger.get(record.key)
        if previous is not None and is_overwritten(previous, record.etag):
            note_overwritten(pipeline, changes, previous, record)
            known.observe(record, None)
            return "overwritten"
        if not needs_submission(previous, record.etag):
            known.observe(record, None)
            return "already_in_ledger"
        if options.max_objects and taken[0] >= options.max_objects:
            return "max_objects"
        taken[0] += 1
        return None

    return listing.apply(_remember_listed(records, listed), stats, run_checks)


def _inventory_uri(pipeline: IngestPipeline) -> str:
    inventory = pipeline.source.listing.inventory
    return f"inventory {inventory.uri}" if inventory else pipeline.source.bucket_url


def _lists_whole_prefix(pipeline: IngestPipeline, options: RunOptions) -> bool:
    """Whether this run sees every object under the configured prefix (needed to call one deleted);
    a dry run does, though it writes nothing."""
    return partial_run_reason(replace(options, dry_run=False), pipeline.source.prefix, DATA_TYPES) is None


def plan_run(
    pipeline: IngestPipeline,
    options: RunOptions,
    run_id: str,
    source: ObjectStore,
    staging: ObjectStore,
    ledger: Ledger,
    shard: Shard | None = None,
    watermark: Watermark | None = None,
) -> PlanResult:
    """Write this run's manifests and chunk plans to staging; record pending/rejected objects and bucket
    changes. A dry run writes the manifests under `dry-run/` and nothing to the ledger. With `shard`,
    only the shard's objects are listed and `ledger` is the shard's ledger (or, before the first split, the
    unsplit one), pruned by the pipeline's `watermark` (ingest.plan_ledger)."""
    skips = SkipReport()
    stats = FilterStats(on_skip=skips.add)
    run_base = run_prefix(pipeline, run_id)
    # Each plan attempt writes under its own directory, so a cleared and re-run plan never overwrites
    # chunks (and their job markers) that an earlier attempt may already have sent to Encord.
    base = f"{run_base}/dry-run" if options.dry_run else f"{run_base}/plan-{uuid.uuid4().hex[:8]}"
    if shard is not None:
        base = f"{base}/{shard.id}"
    etags: dict[str, str] = {}
    known, changes, listed, inventory = (
        FilterStats(),
        BucketChanges.of(pipeline),
        set[str](),
        InventoryStats(),
    )
    shared = read_scope(staging, run_base) if shard is not None and shard.hash_index is not None else None
    scope = shared or run_scope(pipeline, options, ledger, staging, watermark=watermark)
    records = (
        read_shard_file(staging, run_base, shard.id)  # listed once for every hash shard (shard_run)
        if shared is not None and shard is not None
        else _listing(pipeline, source, scope, inventory, shard)
    )
    candidates = (
        _remember_etag(r, etags)
        for r in _candidates(pipeline, options, source, ledger, stats, known, changes, listed, records, shard)
    )
    try:
        built = build_chunk_plans(
            candidates, pipeline, options.chunk_size, staging, f"{base}/chunks", key_order_of(source), skips
        )
    except InventoryError as err:
        raise PermanentIngestError(f"listing source {_inventory_uri(pipeline)}: {err}") from err
    finally:
        skips.close()
    result = PlanResult(
        listing={
            "seen": stats.seen,
            "kept": stats.kept,
            "skipped": dict(stats.skipped),
            "skipped_uri": built.skipped_uri,
            "scope": scope.report(),
            **({"inventory": inventory.as_dict()} if pipeline.source.listing.mode == "inventory" else {}),
        },  # fmt: skip
        newest=_newest(stats, known),
    )
    whole = scope.full and _lists_whole_prefix(pipeline, options)
    if whole:  # (a shard's ledger holds only the shard's keys)
        note_deleted(ledger, listed, pipeline.source.prefix, changes, shard.contains if shard else None)
    pending = _write_plans(built, ledger, staging, result)
    rejected = [
        LedgerRecord(key=key, etag=etags.get(key, ""), state=ObjectState.REJECTED, error=reason,
                     chunk=built.rejections_uri)
        for key, reason in built.rejections.items()
    ]  # fmt: skip
    result.planned, result.rejected = len(pending), len(rejected)
    result.skipped_known = stats.skipped.get("already_in_ledger", 0)
    result.changes = changes
    result.by_type = built.by_type
    result.manifest_uris = [plan.manifest_uri for plan in built.plans]
    result.rejections_uri = built.rejections_uri
    result.entries = sum(len(plan.entries) for plan in built.plans)
    result.listing["full_listing"] = whole  # finalize notes it with the watermark (ingest.listing_scope)
    if not options.dry_run:
        ledger.write([*pending, *rejected, *changes.records], writer=f"plan:{run_id}")
    return result


def _write_plans(
    built: PlannedChunks, ledger: Ledger, staging: ObjectStore, result: PlanResult
) -> list[LedgerRecord]:
    """Write each chunk plan next to its manifest; returns the `pending` records of their objects."""
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
        result.chunk_entries.append(len(plan.entries))
        pending += [
            LedgerRecord(key=obj.key, etag=obj.etag, state=ObjectState.PENDING, chunk=plan_uri, entry=title,
                         attempts=obj.attempts)
            for title, objects in plan.entries.items()
            for obj in objects
        ]  # fmt: skip
    return pending


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
