"""The listing a run's plan step iterates: LIST requests to the source bucket, or its newest inventory.

`open_listing(pipeline, source, prefix)` is the one call: with `source.listing.mode: list` (the default) it
is `source.list_objects(prefix=prefix)`, key-ordered; with `mode: inventory` it opens the newest finished
inventory run, checks its age against `max_age_hours`, and streams its live objects under `prefix` as the
same `ObjectRecord`s (URLs built by `source`), in manifest order, not key order (docs/storage.md,
"Inventories").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from encord_provider.storage.base import ObjectStore
from encord_provider.storage.factory import parse_uri
from encord_provider.storage.inventory import InventoryKind, InventoryStats, check_freshness, open_inventory
from encord_provider.storage.key_order import key_order_of
from encord_provider.storage.records import ObjectRecord

if TYPE_CHECKING:
    from encord_provider.config.ingest import IngestPipeline


def open_listing(
    pipeline: IngestPipeline,
    source: ObjectStore,
    prefix: str | None = None,
    *,
    start_after: str | None = None,
    stats: InventoryStats | None = None,
    now: datetime | None = None,
) -> Iterator[ObjectRecord]:
    """The objects under `prefix` (default: the pipeline's source prefix) from the pipeline's listing
    source. The inventory's manifest is found, checked and (if stale under `on_stale: error`) rejected
    here, before the first record; its rows are read lazily, one data file and one batch at a time.
    `stats`, if given, is filled with the inventory's counts as it streams (unused with `mode: list`).
    `start_after` (exclusive) is sent with the LIST requests; an inventory's rows are filtered by it."""
    prefix = pipeline.source.prefix if prefix is None else prefix
    config = pipeline.source.listing.inventory
    if pipeline.source.listing.mode == "list" or config is None:
        return source.list_objects(prefix=prefix, start_after=start_after)
    same_scheme = parse_uri(config.uri).scheme == pipeline.source.scheme
    inventory = open_inventory(
        config.uri,
        cast(InventoryKind, config.format or pipeline.source.cloud),  # the config checked the cloud has one
        conn_id=config.conn_id or (pipeline.source.conn_id if same_scheme else None),
        endpoint_url=config.endpoint_url or (pipeline.source.endpoint_url if same_scheme else None),
        rule=config.rule,
        verify_checksums=config.verify_checksums,
    )
    age = check_freshness(inventory, timedelta(hours=config.max_age_hours), config.on_stale, now)
    stats = stats if stats is not None else InventoryStats()
    stats.age_hours = round(age.total_seconds() / 3600, 2)
    records = inventory.records(source, prefix, bucket=pipeline.source.bucket, stats=stats)
    if start_after is None:
        return records
    order = key_order_of(source)
    return (record for record in records if order(record.key) > order(start_after))
