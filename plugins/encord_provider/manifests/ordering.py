"""Key order of the input stream.

Streaming grouping and sidecar pairing rely on keys arriving in a lexicographic order: the backend's own
listing order (`storage.key_order`: code points for S3 / GCS / local, UTF-16 code units for Azure).
`checked_sorted` enforces that assumption in the given order and fails loudly; `spill_sorted` handles any
order by sorting on disk with SQLite (memory stays constant).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime

from encord_provider.errors import PermanentError
from encord_provider.storage.key_order import KeyOrder, code_point_order
from encord_provider.storage.records import ObjectRecord


class UnorderedInputError(PermanentError, ValueError):
    """Keys arrived out of order while the build assumed sorted input."""


def order_error(key: str, previous: str) -> UnorderedInputError:
    detail = "duplicate key" if key == previous else "keys out of order"
    return UnorderedInputError(
        f"{detail}: {key!r} after {previous!r}; listings must be sorted by key "
        "(set input_order='any' / --unsorted to sort on disk first)"
    )


def checked_sorted(
    records: Iterable[ObjectRecord],
    counter: list[int] | None = None,
    key_order: KeyOrder = code_point_order,
) -> Iterator[ObjectRecord]:
    """`records` unchanged, raising on the first key that is not greater (in `key_order`) than the one
    before; `counter[0]` (if given) counts the records seen."""
    previous: str | None = None
    previous_rank: object = None
    counter = counter if counter is not None else [0]
    for counter[0], record in enumerate(records, 1):  # noqa: B007
        key = record.key
        rank = key_order(key)
        if previous is not None and rank <= previous_rank:  # type: ignore[operator]
            raise order_error(key, previous)
        previous, previous_rank = key, rank
        yield record


def spill_sorted(records: Iterable[ObjectRecord], spill_dir: str | None = None) -> Iterator[ObjectRecord]:
    """All records, sorted by key through a temporary SQLite file; duplicate keys keep the last one."""
    handle, path = tempfile.mkstemp(suffix=".sqlite", dir=spill_dir)
    os.close(handle)
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute(
            "CREATE TABLE r (key TEXT PRIMARY KEY, url TEXT, size INTEGER, etag TEXT, modified TEXT) WITHOUT ROWID"
        )
        rows = ((r.key, r.url, r.size, r.etag, r.last_modified.isoformat()) for r in records)
        db.executemany("INSERT OR REPLACE INTO r VALUES (?, ?, ?, ?, ?)", rows)
        db.commit()
        # SQLite's default BINARY collation compares UTF-8 bytes = code point order, like Python's str sort.
        for key, url, size, etag, modified in db.execute("SELECT * FROM r ORDER BY key"):
            yield ObjectRecord(
                url=url, key=key, size=size, etag=etag, last_modified=datetime.fromisoformat(modified)
            )
    finally:
        db.close()
        os.unlink(path)
