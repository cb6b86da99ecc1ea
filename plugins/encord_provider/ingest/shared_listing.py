"""One listing shared by the hash shards of a run.

Every hash shard covers the whole prefix (a key's shard is a hash of it), so N hash shards listing for
themselves would list the prefix N times. Instead the run's shards task lists the run's scope once
(`shard_run.fix_run_shards`) and leaves, under `<run>/listing/`:

- `scope.json`: the listing scope (`ingest.listing_scope`), decided once for every shard of the run, so
  that no shard may think it saw the whole prefix when another listed only partitions;
- `<shard id>.jsonl`: the shard's objects, one JSON line each, in the backend's listing order.

A hash shard's plan then reads its file (ranged reads, streamed) instead of listing: retried plans see the
same listing. Listing mode `list` only (an inventory is read whole by each shard). Plain Python.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson

from encord_provider.ingest.listing_scope import ListingScope, ListRange
from encord_provider.ledger.files import split_lines
from encord_provider.ledger.reader import pieces
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.records import ObjectRecord

LISTING_DIR = "listing"


def scope_key(run_base: str) -> str:
    return f"{run_base}/{LISTING_DIR}/scope.json"


def listing_key(run_base: str, shard_id: str) -> str:
    return f"{run_base}/{LISTING_DIR}/{shard_id}.jsonl"


def write_scope(staging: ObjectStore, run_base: str, scope: ListingScope) -> None:
    body = {"full": scope.full, "reason": scope.reason,
            "ranges": [[r.prefix, r.start_after] for r in scope.ranges]}  # fmt: skip
    staging.write_bytes(scope_key(run_base), orjson.dumps(body), "application/json")


def read_scope(staging: ObjectStore, run_base: str) -> ListingScope | None:
    """The run's shared scope, or None when the run has no shared listing."""
    key = scope_key(run_base)
    if not staging.exists(key):
        return None
    body: dict[str, Any] = orjson.loads(staging.read_bytes(key))
    ranges = tuple(ListRange(prefix, after) for prefix, after in body["ranges"])
    return ListingScope(ranges, bool(body["full"]), str(body["reason"]))


def _line(record: ObjectRecord) -> bytes:
    return (
        orjson.dumps([record.key, record.etag, record.size, record.last_modified.isoformat(), record.url])
        + b"\n"
    )


def write_shard_files(staging: ObjectStore, run_base: str, records: Iterable[ObjectRecord], shard_ids: list[str],
                      assign: Any) -> dict[str, int]:  # fmt: skip
    """Write each shard's records (`assign(key)` -> shard id or None) to its file, grouped through a
    temporary SQLite table on local disk; every shard gets a file. Returns the count per shard."""
    db = sqlite3.connect("")
    db.execute("CREATE TABLE listed (shard TEXT, seq INTEGER, line BLOB)")
    wanted = set(shard_ids)
    rows = ((assign(r.key), seq, _line(r)) for seq, r in enumerate(records))
    db.executemany("INSERT INTO listed VALUES (?, ?, ?)", (row for row in rows if row[0] in wanted))
    counts = {}
    for shard_id in shard_ids:
        cursor = db.execute("SELECT line FROM listed WHERE shard = ? ORDER BY seq", (shard_id,))
        with tempfile.NamedTemporaryFile(prefix="listing-", suffix=".jsonl") as spill:
            counts[shard_id] = 0
            for (line,) in cursor:
                spill.write(line)
                counts[shard_id] += 1
            spill.flush()
            staging.write_file(listing_key(run_base, shard_id), spill.name, "application/x-ndjson")
    db.close()
    return counts


def read_shard_file(staging: ObjectStore, run_base: str, shard_id: str) -> Iterator[ObjectRecord]:
    """The shard's listed objects, streamed in ranges, in listing order."""
    for raw in split_lines(pieces(staging, listing_key(run_base, shard_id))):
        if raw:
            key, etag, size, modified, url = orjson.loads(raw)
            yield ObjectRecord(url, key, int(size), etag, datetime.fromisoformat(modified))
