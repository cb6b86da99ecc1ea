"""Polling event trigger for any cloud: fires when objects newer than a watermark appear under a prefix.

For AssetWatcher (GCS, Azure, S3 without event notifications). The starting watermark is the pipeline
ledger's (read from staging when the trigger starts), so a triggerer restart neither misses objects nor
needs state of its own; firing twice for the same objects is harmless because the ingest run is
ledger-aware. Listing runs in a thread so the triggerer's event loop is never blocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from encord_provider.ingest.stores import open_store
from encord_provider.ledger import Ledger

MAX_KEYS_IN_EVENT = 20


def newest_after(
    scheme: str,
    bucket: str,
    prefix: str,
    conn_id: str | None,
    endpoint_url: str | None,
    after: datetime | None,
) -> tuple[int, datetime | None, list[str]]:
    """(count, newest last_modified, first keys) of objects under `prefix` modified after `after`."""
    store = open_store(scheme, bucket, conn_id, endpoint_url)
    count, newest, keys = 0, None, list[str]()
    for record in store.list_objects(prefix=prefix):
        if record.key.endswith("/") or (after is not None and record.last_modified <= after):
            continue
        count += 1
        newest = record.last_modified if newest is None else max(newest, record.last_modified)
        if len(keys) < MAX_KEYS_IN_EVENT:
            keys.append(record.key)
    return count, newest, keys


def ledger_watermark(
    scheme: str, bucket: str, conn_id: str | None, endpoint_url: str | None, prefix: str
) -> datetime | None:
    store = open_store(scheme, bucket, conn_id, endpoint_url)
    mark = Ledger(store, prefix).load().watermark.last_modified
    return datetime.fromisoformat(mark) if mark else None


class BucketPollTrigger(BaseEventTrigger):
    """Yields `{"count", "newest", "keys", "bucket", "prefix"}` whenever new objects appear."""

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
    ) -> None:
        """`staging` = {scheme, bucket, conn_id, endpoint_url, ledger_prefix} to read the ledger watermark."""
        super().__init__()
        self.scheme = scheme
        self.bucket = bucket
        self.prefix = prefix
        self.conn_id = conn_id
        self.endpoint_url = endpoint_url
        self.poll_interval = poll_interval
        self.staging = staging
        self.since = since

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
            },
        )

    async def _start_watermark(self) -> datetime | None:
        if self.since:
            return datetime.fromisoformat(self.since)
        if not self.staging:
            return None
        s = self.staging
        return await asyncio.to_thread(
            ledger_watermark,
            s["scheme"],
            s["bucket"],
            s.get("conn_id"),
            s.get("endpoint_url"),
            s["ledger_prefix"],
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watermark = await self._start_watermark()
        while True:
            try:
                count, newest, keys = await asyncio.to_thread(
                    newest_after,
                    self.scheme,
                    self.bucket,
                    self.prefix,
                    self.conn_id,
                    self.endpoint_url,
                    watermark,
                )
            except Exception as err:  # keep watching through transient storage errors
                self.log.warning("listing %s://%s/%s failed: %s", self.scheme, self.bucket, self.prefix, err)
                count, newest, keys = 0, None, []
            if count and newest is not None:
                watermark = newest
                yield TriggerEvent(
                    {
                        "count": count,
                        "newest": newest.isoformat(),
                        "keys": keys,
                        "bucket": self.bucket,
                        "prefix": self.prefix,
                    }
                )
            await asyncio.sleep(self.poll_interval)
