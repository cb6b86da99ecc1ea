"""One inventory run opened for reading: find its manifest, then stream its rows as `ObjectRecord`s.

Order: data files in the order the manifest lists them, rows in the order each file holds them. The same
manifest always yields the same sequence, but it is not key order (inventories are not sorted), so
callers must not use it for `start_after`-style resumption or key-ordered merges. Rows are not
de-duplicated across data files; an inventory lists each live object once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Literal

from encord_provider.storage.base import ObjectStore
from encord_provider.storage.factory import open_store, parse_uri
from encord_provider.storage.inventory import azure, gcs, s3
from encord_provider.storage.inventory.batches import read_batches
from encord_provider.storage.inventory.errors import InventoryError, StaleInventoryError
from encord_provider.storage.inventory.files import local_copy
from encord_provider.storage.inventory.model import DataFile, InventoryKind, Manifest
from encord_provider.storage.inventory.rows import RowContext, batch_records, check_columns, wanted_columns
from encord_provider.storage.inventory.stats import InventoryStats
from encord_provider.storage.records import ObjectRecord

log = logging.getLogger(__name__)

KINDS: dict[str, ModuleType] = {"s3": s3, "gcs": gcs, "azure": azure}
DEFAULT_BATCH_ROWS = 65_536


class Inventory:
    """A manifest and the store holding it and its data files."""

    def __init__(
        self,
        store: ObjectStore,
        manifest: Manifest,
        *,
        verify_checksums: bool = True,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
        self.store = store
        self.manifest = manifest
        self.verify_checksums = verify_checksums
        self.batch_rows = batch_rows

    def __repr__(self) -> str:
        return (
            f"Inventory({self.manifest.uri!r}, {self.manifest.file_format}, {len(self.manifest.files)} files)"
        )

    @property
    def files(self) -> tuple[DataFile, ...]:
        return self.manifest.files

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or datetime.now(UTC)) - self.manifest.snapshot_time

    def records(
        self,
        source: ObjectStore,
        prefix: str = "",
        *,
        bucket: str | None = None,
        stats: InventoryStats | None = None,
        files: Sequence[DataFile] | None = None,
    ) -> Iterator[ObjectRecord]:
        """The live objects under `prefix`, as `source.list_objects(prefix)` would yield them (URLs from
        `source`), in manifest order. `bucket` (default `source.bucket`) is the bucket, or Azure
        container, whose rows are kept; `files` reads a subset of the data files (e.g. one shard's)."""
        bucket = source.bucket if bucket is None else bucket
        manifest = self.manifest
        if manifest.source_bucket and bucket and manifest.source_bucket != bucket:
            raise InventoryError(
                manifest.uri,
                f"this inventory lists bucket {manifest.source_bucket!r}, not the source {bucket!r}",
            )
        stats = stats if stats is not None else InventoryStats()
        stats.manifest = manifest.uri
        stats.snapshot_time = manifest.snapshot_time.isoformat()
        stats.files_total = len(manifest.files)
        for data_file in manifest.files if files is None else files:
            ctx = RowContext(
                uri=self.store.uri(data_file.key),
                rules=manifest.rules,
                prefix=prefix,
                bucket=bucket or None,
                object_url=source.object_url,
                default_modified=manifest.snapshot_time,
                url_encoded_keys=bool(manifest.csv and manifest.csv.url_encoded_keys),
            )
            yield from self._file_records(data_file, ctx, stats)

    def _file_records(
        self, data_file: DataFile, ctx: RowContext, stats: InventoryStats
    ) -> Iterator[ObjectRecord]:
        manifest = self.manifest
        wanted = wanted_columns(manifest.rules)
        with local_copy(self.store, data_file, verify=self.verify_checksums) as path:
            checked = False
            for batch in read_batches(
                path, manifest.file_format, manifest.csv, wanted, ctx.uri, self.batch_rows
            ):
                if not checked:
                    check_columns(batch.table.schema.names, ctx)
                    checked = True
                yield from batch_records(batch, ctx, stats)
        stats.files_read += 1


def inventory_location(
    uri: str, *, conn_id: str | None = None, endpoint_url: str | None = None
) -> tuple[ObjectStore, str]:
    """The store an inventory URI points into and the key in it. A `file://` inventory is read through a
    store rooted at `/`, so a local copy's data files resolve wherever the copy put them."""
    return open_store(uri, conn_id=conn_id, endpoint_url=endpoint_url), parse_uri(uri).key


def open_inventory(
    uri: str,
    kind: InventoryKind,
    *,
    conn_id: str | None = None,
    endpoint_url: str | None = None,
    rule: str | None = None,
    verify_checksums: bool = True,
    store: ObjectStore | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> Inventory:
    """The inventory at `uri`: a manifest, or the folder its runs are delivered to (then the newest
    finished run). `store` replaces the store `uri` would open (the URI's key is still used)."""
    if kind not in KINDS:
        raise ValueError(f"unknown inventory format {kind!r}; expected one of {sorted(KINDS)}")
    if store is None:
        store, location = inventory_location(uri, conn_id=conn_id, endpoint_url=endpoint_url)
    else:
        location = parse_uri(uri).key
    module = KINDS[kind]
    key = module.find_manifest(store, location, rule=rule, verify=verify_checksums)
    manifest = module.load_manifest(store, key, verify=verify_checksums)
    log.info(
        "inventory %s: %s, %d data files, snapshot %s",
        manifest.uri,
        manifest.file_format,
        len(manifest.files),
        manifest.snapshot_time.isoformat(),
    )
    return Inventory(store, manifest, verify_checksums=verify_checksums, batch_rows=batch_rows)


def check_freshness(
    inventory: Inventory,
    max_age: timedelta,
    on_stale: Literal["error", "warn"] = "error",
    now: datetime | None = None,
) -> timedelta:
    """The inventory's age; older than `max_age` raises StaleInventoryError (or, with `warn`, logs a warning):
    objects written since the snapshot are missing from it."""
    age = inventory.age(now)
    if age > max_age:
        problem = (
            f"inventory snapshot of {inventory.manifest.snapshot_time.isoformat()} is {age.total_seconds() / 3600:.1f} h "
            f"old, more than max_age_hours={max_age.total_seconds() / 3600:g}; objects written since are not in it"
        )
        if on_stale == "error":
            raise StaleInventoryError(inventory.manifest.uri, problem)
        log.warning("%s: %s", inventory.manifest.uri, problem)
    return age
