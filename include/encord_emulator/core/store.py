"""JSON-document store over SQLite: every emulator resource is a document of some kind.

One connection guarded by a re-entrant lock; WAL journal so a restart (or a reader in
another process) sees committed state. Queries filter on top-level fields through
``json_extract`` expression indexes, created lazily the first time a field is queried.
Ordered listings (``scan``) walk a composite index ``(kind, equality fields..., sort key, id)`` from a
keyset cursor, so a page costs O(page + log n) whatever the collection size.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
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
        """Documents by id (missing ids absent from the result), in insertion order."""
        found: list[tuple[int, str, str]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                found += self._conn.execute(
                    f"SELECT rowid, id, doc FROM docs WHERE kind = ? AND id IN ({marks})", (kind, *chunk)
                ).fetchall()
        return {key: _loads(text) for _, key, text in sorted(found)}

    def delete(self, kind: str, id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, id))

    def query(self, kind: str, **equals: Any) -> list[dict[str, Any]]:
        """Documents of ``kind`` whose top-level fields equal the given values, in insertion order."""
        sql, args = self._where(kind, equals)
        with self._lock:
            rows = self._conn.execute(f"SELECT doc FROM docs WHERE {sql} ORDER BY rowid", args).fetchall()
        return [_loads(row[0]) for row in rows]

    def scan(
        self,
        kind: str,
        order_by: str,
        *,
        after: tuple[str, str] | None = None,
        desc: bool = False,
        batch: int = 256,
        **equals: Any,
    ) -> Iterator[dict[str, Any]]:
        """Documents of ``kind`` matching ``equals``, ordered by ``(doc[order_by] or "", id)``, strictly after
        (before when ``desc``) the cursor ``after``; read lazily in batches along an index."""
        self._ensure_ordered_index(list(equals), order_by)
        where, args = self._where(kind, equals)
        key = f"ifnull(json_extract(doc, '$.{order_by}'), '')"
        direction, compare = ("DESC", "<") if desc else ("ASC", ">")
        cursor = after
        while True:
            sql, cursor_args = where, list(args)
            if cursor is not None:  # the first term seeks along the index; the rest settles ties on the key
                sql += f" AND {key} {compare}= ? AND ({key} {compare} ? OR id {compare} ?)"
                cursor_args += [cursor[0], cursor[0], cursor[1]]
            query = f"SELECT {key}, id, doc FROM docs WHERE {sql} ORDER BY {key} {direction}, id {direction} LIMIT ?"
            with self._lock:
                rows = self._conn.execute(query, [*cursor_args, batch]).fetchall()
            for _, _, text in rows:
                yield _loads(text)
            if len(rows) < batch:
                return
            cursor = (str(rows[-1][0]), str(rows[-1][1]))

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

    def _ensure_ordered_index(self, equal_fields: Sequence[str], order_by: str) -> None:
        fields = [*equal_fields, order_by]
        for field in fields:
            if not _FIELD_NAME.match(field):
                raise ValueError(f"not a queryable field name: {field!r}")
        name = "ix_docs_by__" + "__".join(fields)
        if name in self._indexed:
            return
        columns = [f"json_extract(doc, '$.{field}')" for field in equal_fields]
        columns.append(f"ifnull(json_extract(doc, '$.{order_by}'), '')")
        with self._lock:
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON docs (kind, {', '.join(columns)}, id)")
            self._indexed.add(name)

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
