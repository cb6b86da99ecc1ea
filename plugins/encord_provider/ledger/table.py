"""The records of one ledger (shard) while a task works on it: a private, on-disk SQLite table.

A ledger shard can hold millions of records; as Python objects they cost ~600 bytes each (1.7 GB for 1M
with the dict and the file bytes). SQLite keeps them on local disk (a private temporary database, deleted
when the table is closed or collected) behind a bounded page cache, so a task's memory does not grow with
its shard. It behaves as a `MutableMapping[str, LedgerRecord]`, and answers the queries the ingest steps
ask (`in_state`, `counts`, records of one chunk prefix) in SQL without materialising the rest.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

from encord_provider.ledger.records import ROW_FIELDS, LedgerRecord, ObjectState, RecordRow

CACHE_KIB = 32 * 1024  # SQLite page cache; the rest of the table stays on disk
_COLUMNS = ", ".join(ROW_FIELDS)
_PLACEHOLDERS = ", ".join("?" for _ in ROW_FIELDS)
_SCHEMA = (
    "CREATE TABLE records (key TEXT PRIMARY KEY, etag TEXT, state TEXT, item_uuid TEXT, error TEXT, "
    "upload_job_id TEXT, chunk TEXT, entry TEXT, attempts INTEGER, updated_at TEXT) WITHOUT ROWID"
)


class RecordTable(MutableMapping[str, LedgerRecord]):
    """Object key -> LedgerRecord, stored in a temporary SQLite database."""

    def __init__(self, records: Iterable[LedgerRecord] = ()) -> None:
        # "": a private temporary file, removed on close. One task uses a table at a time, but it may hand
        # it to another thread (a trigger's sync_to_async), hence no same-thread check.
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.execute("PRAGMA journal_mode=OFF")  # a scratch copy: nothing to recover after a crash
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(_SCHEMA)
        self.put_rows(r.to_row() for r in records)

    def close(self) -> None:
        self._db.close()

    # -- bulk writes (a savepoint makes a file's rows land whole or not at all) -------------------

    def put_rows(self, rows: Iterable[RecordRow]) -> None:
        self._db.executemany(f"INSERT OR REPLACE INTO records ({_COLUMNS}) VALUES ({_PLACEHOLDERS})", rows)

    def put_older_rows(self, rows: Iterable[RecordRow]) -> None:
        """Rows older than every row already held (a snapshot block fetched late): they never override."""
        self._db.executemany(f"INSERT OR IGNORE INTO records ({_COLUMNS}) VALUES ({_PLACEHOLDERS})", rows)

    def begin(self, name: str) -> None:
        self._db.execute(f"SAVEPOINT {name}")

    def commit(self, name: str) -> None:
        self._db.execute(f"RELEASE {name}")

    def rollback(self, name: str) -> None:
        self._db.execute(f"ROLLBACK TO {name}")
        self._db.execute(f"RELEASE {name}")

    # -- MutableMapping --------------------------------------------------------------------------

    def __getitem__(self, key: str) -> LedgerRecord:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM records WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return LedgerRecord.from_row(row)

    def __setitem__(self, key: str, record: LedgerRecord) -> None:
        if key != record.key:
            raise ValueError(f"record for {record.key!r} stored under {key!r}")
        self.put_rows([record.to_row()])

    def __delitem__(self, key: str) -> None:
        if self._db.execute("DELETE FROM records WHERE key = ?", (key,)).rowcount == 0:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (row[0] for row in self._db.execute("SELECT key FROM records ORDER BY key"))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    def __contains__(self, key: object) -> bool:
        return self._db.execute("SELECT 1 FROM records WHERE key = ?", (key,)).fetchone() is not None

    def values(self) -> Iterator[LedgerRecord]:  # type: ignore[override]  # streamed, in key order
        return self._select("")

    def items(self) -> Iterator[tuple[str, LedgerRecord]]:  # type: ignore[override]
        return ((record.key, record) for record in self._select(""))

    # -- queries ---------------------------------------------------------------------------------

    def rows(self) -> Iterator[RecordRow]:
        """Every row in key order (what a snapshot writes), streamed."""
        return iter(self._db.execute(f"SELECT {_COLUMNS} FROM records ORDER BY key"))

    def in_state(self, states: Iterable[ObjectState]) -> list[LedgerRecord]:
        wanted = [str(s) for s in states]
        marks = ", ".join("?" for _ in wanted)
        return list(self._select(f"WHERE state IN ({marks})", wanted))

    def with_chunk_prefix(self, prefix: str) -> Iterator[LedgerRecord]:
        """Records whose chunk URI starts with `prefix` (the objects of one run)."""
        return self._select("WHERE substr(chunk, 1, ?) = ?", [len(prefix), prefix])

    def counts(self) -> dict[str, int]:
        return {str(state): int(n) for state, n in self._db.execute(
            "SELECT state, COUNT(*) FROM records GROUP BY state ORDER BY state")}  # fmt: skip

    def _select(self, where: str, args: list[Any] | None = None) -> Iterator[LedgerRecord]:
        cursor = self._db.execute(f"SELECT {_COLUMNS} FROM records {where} ORDER BY key", args or [])
        return (LedgerRecord.from_row(row) for row in cursor)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordTable):
            return dict(self.items()) == dict(other.items())
        if isinstance(other, dict):
            return dict(self.items()) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def rows_by(
    table: RecordTable, assign: Callable[[str], str | None]
) -> Iterator[tuple[str | None, Iterator[RecordRow]]]:
    """Every row, grouped by `assign(key)` (sorted in SQLite, on disk), each group streamed."""
    db = table._db  # noqa: SLF001  # the one helper that needs SQL over a Python function
    db.create_function("assign_group", 1, assign, deterministic=True)
    cursor = db.execute(f"SELECT assign_group(key) AS grp, {_COLUMNS} FROM records ORDER BY grp, key")
    for group, rows in itertools.groupby(cursor, key=lambda row: row[0]):
        yield group, (row[1:] for row in rows)
