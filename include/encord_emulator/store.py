"""JSON-document store over SQLite: every emulator resource is a document of some kind.

One connection guarded by a re-entrant lock; WAL journal so a restart (or a reader in
another process) sees committed state. Queries filter on top-level fields through
``json_extract`` expression indexes, created lazily the first time a field is queried.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DB_FILE_NAME = "emulator.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS seqs (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Store:
    """Thread-safe document store. ``kind`` is a collection name, ``id`` the document key."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / DB_FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._indexed: set[str] = set()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Group writes atomically; nests (only the outermost level commits)."""
        with self._lock:
            if self._depth == 0:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._conn.execute("COMMIT")

    def put(self, kind: str, id: str, doc: dict[str, Any]) -> None:
        text = json.dumps(doc, separators=(",", ":"), default=str)
        with self._lock:
            self._conn.execute(
                "INSERT INTO docs (kind, id, doc) VALUES (?, ?, ?) "
                "ON CONFLICT(kind, id) DO UPDATE SET doc = excluded.doc",
                (kind, id, text),
            )

    def put_many(self, kind: str, docs: dict[str, dict[str, Any]]) -> None:
        rows = [(kind, key, json.dumps(doc, separators=(",", ":"), default=str)) for key, doc in docs.items()]
        with self.transaction():
            self._conn.executemany(
                "INSERT INTO docs (kind, id, doc) VALUES (?, ?, ?) "
                "ON CONFLICT(kind, id) DO UPDATE SET doc = excluded.doc",
                rows,
            )

    def get(self, kind: str, id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT doc FROM docs WHERE kind = ? AND id = ?", (kind, id)).fetchone()
        return None if row is None else _loads(row[0])

    def get_many(self, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Documents by id (missing ids absent from the result)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT id, doc FROM docs WHERE kind = ? AND id IN ({marks})", (kind, *chunk)
                ).fetchall()
            found.update((key, _loads(text)) for key, text in rows)
        return found

    def delete(self, kind: str, id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, id))

    def query(self, kind: str, **equals: Any) -> list[dict[str, Any]]:
        """Documents of ``kind`` whose top-level fields equal the given values, in insertion order."""
        sql, args = self._where(kind, equals)
        with self._lock:
            rows = self._conn.execute(f"SELECT doc FROM docs WHERE {sql} ORDER BY rowid", args).fetchall()
        return [_loads(row[0]) for row in rows]

    def count(self, kind: str, **equals: Any) -> int:
        sql, args = self._where(kind, equals)
        with self._lock:
            row = self._conn.execute(f"SELECT COUNT(*) FROM docs WHERE {sql}", args).fetchone()
        return int(row[0])

    def kinds(self) -> dict[str, int]:
        """Document count per kind (for the admin state summary)."""
        with self._lock:
            rows = self._conn.execute("SELECT kind, COUNT(*) FROM docs GROUP BY kind").fetchall()
        return {kind: int(n) for kind, n in rows}

    def next_seq(self, name: str) -> int:
        """Next value (1, 2, ...) of a named counter, persistent across restarts."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO seqs (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name,),
            )
            row = self._conn.execute("SELECT value FROM seqs WHERE name = ?", (name,)).fetchone()
        return int(row[0])

    def _where(self, kind: str, equals: dict[str, Any]) -> tuple[str, list[Any]]:
        clauses = ["kind = ?"]
        args: list[Any] = [kind]
        for field, value in equals.items():
            self._ensure_index(field)
            expr = f"json_extract(doc, '$.{field}')"
            if value is None:
                clauses.append(f"{expr} IS NULL")
            elif isinstance(value, (dict, list)):
                clauses.append(f"{expr} = json(?)")
                args.append(json.dumps(value, separators=(",", ":")))
            else:
                clauses.append(f"{expr} = ?")
                args.append(int(value) if isinstance(value, bool) else value)
        return " AND ".join(clauses), args

    def _ensure_index(self, field: str) -> None:
        if not _FIELD_NAME.match(field):
            raise ValueError(f"not a queryable field name: {field!r}")
        if field in self._indexed:
            return
        with self._lock:
            self._conn.execute(
                f"CREATE INDEX IF NOT EXISTS ix_docs_{field} ON docs (kind, json_extract(doc, '$.{field}'))"
            )
            self._indexed.add(field)


def _loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    assert isinstance(value, dict)
    return value
