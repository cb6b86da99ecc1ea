"""Polling event trigger for any cloud: fires when objects appear under a prefix that it has not announced.

For AssetWatcher (GCS, Azure, S3 without event notifications). It starts from the pipeline ledger's
watermark (read from staging when the trigger starts), so a triggerer restart neither misses objects nor
needs state of its own. Each poll keeps objects modified at or after `watermark - safety lag` and not
announced yet (`ledger.watermark.PollWindow`): an object written in the same second as the newest one
seen, or landing late with an older LastModified (replication, multipart completion), is still found,
and one already announced does not fire again. With date partitions (`source.listing.partitions`), a poll
lists only the partitions at or after `watermark - partitions.safety_lag`, as a scheduled plan does
(`ingest.listing_scope`), so a poll costs the same whatever the bucket's size. Listing runs in a thread
so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from encord_provider.config.ingest import ShardsConfig
from encord_provider.config.listing import PartitionConfig
from encord_provider.ingest.listing_scope import ListRange, partition_scope
from encord_provider.ingest.shards import ShardLayout
from encord_provider.ledger import Ledger, LedgerRecord
from encord_provider.ledger.watermark import DEFAULT_LAG_SECONDS, KnownEtags, PollWindow
from encord_provider.storage.factory import bucket_uri, open_bucket, open_store
from encord_provider.storage.records import ObjectRecord

MAX_KEYS_IN_EVENT = 20


def poll_ranges(prefix: str, partitions: dict[str, Any] | None, window: PollWindow) -> tuple[ListRange, ...]:
    """The whole prefix, or (with partitions and a watermark) only the partitions from the watermark on."""
    if not partitions or window.watermark is None:
        return (ListRange(prefix),)
    config = PartitionConfig.model_validate(partitions)
    return partition_scope(prefix, config, window.watermark - config.safety_lag, datetime.now(UTC)).ranges


def poll_once(
    scheme: str, bucket: str, prefix: str, conn_id: str | None, endpoint_url: str | None, window: PollWindow,
    partitions: dict[str, Any] | None = None,
) -> list[ObjectRecord]:  # fmt: skip
    """The objects under `prefix` this poll should announce (and now remembers as announced)."""
    store = open_bucket(scheme, bucket, conn_id=conn_id, endpoint_url=endpoint_url)
    ranges = poll_ranges(prefix, partitions, window)
    return window.take(
        record
        for part in ranges
        for record in store.list_objects(prefix=part.prefix, start_after=part.start_after)
    )


def ledger_window(staging: dict[str, Any], lag: timedelta) -> PollWindow:
    """A window starting at the ledger's watermark that knows the objects the ledger already settled. The
    ledger is opened, not loaded: the first poll looks up only the keys it lists (the plan's cheap path)."""
    store = open_store(
        bucket_uri(staging["scheme"], staging["bucket"]),
        conn_id=staging.get("conn_id"),
        endpoint_url=staging.get("endpoint_url"),
    )
    ledger = Ledger(store, staging["ledger_prefix"]).open()
    mark = ledger.watermark.last_modified
    layout = staging.get("shard_layout")
    if layout:  # the records are in the shard ledgers: each listed key is looked up in its own
        shard_of = ShardLayout(layout["prefix"], ShardsConfig.model_validate(layout["shards"])).assign
        lookup = ShardLookup(store, layout["ledger_root"], shard_of)
        known = KnownEtags(lookup.get, lookup.every)
    else:
        known = KnownEtags(ledger.get, lambda: ledger.records.values())
    return PollWindow(datetime.fromisoformat(mark) if mark else None, lag, known)


class ShardLookup:
    """Keys looked up in the opened ledger of their shard (each shard ledger opened once, when first
    asked for); `every()` reads the shard ledgers whole, one at a time."""

    def __init__(self, store: Any, ledger_root: str, shard_of: Callable[[str], str | None]) -> None:
        self.store, self.root, self.shard_of = store, ledger_root, shard_of
        self.opened: dict[str, Ledger] = {}

    def get(self, key: str) -> LedgerRecord | None:
        shard_id = self.shard_of(key)
        if shard_id is None:
            return None
        if shard_id not in self.opened:
            self.opened[shard_id] = Ledger(self.store, f"{self.root}/shards/{shard_id}").open()
        return self.opened[shard_id].get(key)

    def every(self) -> Iterator[LedgerRecord]:
        for entry in self.store.list_level(f"{self.root}/shards/"):
            if isinstance(entry, str):
                ledger = Ledger(self.store, entry.rstrip("/")).load()
                yield from ledger.records.values()
                ledger.close()


def event_payload(fresh: list[ObjectRecord], bucket: str, prefix: str) -> dict[str, Any]:
    return {
        "count": len(fresh),
        "newest": max(r.last_modified for r in fresh).isoformat(),
        "keys": [r.key for r in fresh[:MAX_KEYS_IN_EVENT]],
        "bucket": bucket,
        "prefix": prefix,
    }


class BucketPollTrigger(BaseEventTrigger):
    """Yields `{"count", "newest", "keys", "bucket", "prefix"}` whenever objects not announced yet appear."""

    def __init__(
        self,
        scheme: str,
        bucket: str,
        prefix: str = "",
        conn_id: str | None = None,
        endpoint_url: str | None = None,
        poll_interval: float = 60.0,
        staging: dict[str, Any] | None = None,
        since: str | None = None,
        safety_lag_seconds: float = DEFAULT_LAG_SECONDS,
        partitions: dict[str, Any] | None = None,
    ) -> None:
        """`staging` = {scheme, bucket, conn_id, endpoint_url, ledger_prefix} to read the ledger watermark
        (sharded: plus `shard_layout` = {prefix, shards, ledger_root}, where the known objects are);
        `since` (ISO time) starts from that watermark instead; `partitions` = {format, safety_lag (s)}."""
        super().__init__()
        self.scheme = scheme
        self.bucket = bucket
        self.prefix = prefix
        self.conn_id = conn_id
        self.endpoint_url = endpoint_url
        self.poll_interval = poll_interval
        self.staging = staging
        self.since = since
        self.safety_lag_seconds = safety_lag_seconds
        self.partitions = partitions

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "scheme": self.scheme,
                "bucket": self.bucket,
                "prefix": self.prefix,
                "conn_id": self.conn_id,
                "endpoint_url": self.endpoint_url,
                "poll_interval": self.poll_interval,
                "staging": self.staging,
                "since": self.since,
                "safety_lag_seconds": self.safety_lag_seconds,
                "partitions": self.partitions,
            },
        )

    async def _start_window(self) -> PollWindow:
        lag = timedelta(seconds=self.safety_lag_seconds)
        if self.since:
            return PollWindow(datetime.fromisoformat(self.since), lag)
        if not self.staging:
            return PollWindow(None, lag)
        return await asyncio.to_thread(ledger_window, self.staging, lag)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        window = await self._start_window()
        while True:
            try:
                fresh = await asyncio.to_thread(
                    poll_once, self.scheme, self.bucket, self.prefix, self.conn_id, self.endpoint_url, window,
                    self.partitions,
                )  # fmt: skip
            except Exception as err:  # keep watching through transient storage errors
                self.log.warning("listing %s://%s/%s failed: %s", self.scheme, self.bucket, self.prefix, err)
                fresh = []
            if fresh:
                yield TriggerEvent(event_payload(fresh, self.bucket, self.prefix))
            await asyncio.sleep(self.poll_interval)
