"""Durable per-pipeline ledger kept in the staging bucket through an ObjectStore.

Layout under `<prefix>/` (prefix e.g. `encord-staging/ledger/<pipeline>`):

- `segments/<lamport>-<token>.jsonl`: one append-only batch of record updates (and optionally the
  watermark), written with a single PUT, so a crash leaves either the whole batch or nothing.
- `snapshots/<lamport>-<token>.jsonl`: a compaction: every record as of the segments it names as folded.
- `quarantine/`: copies of torn or corrupt files, kept for a person to look at.

Which file is which and in what order they are read: names.py. The file format and what "torn" means:
files.py. How a read stays consistent while others write and compact: reader.py. What compaction folds
and deletes: compaction.py. Nothing here depends on workers' clocks agreeing.
"""

from __future__ import annotations

from collections.abc import Iterable

from encord_provider.ledger.compaction import Compaction, compact
from encord_provider.ledger.files import write_file
from encord_provider.ledger.names import new_segment_key
from encord_provider.ledger.reader import LedgerProblem, highest_lamport, read_view
from encord_provider.ledger.records import LedgerRecord, ObjectState, RecordRow, Watermark
from encord_provider.ledger.table import RecordTable
from encord_provider.storage.base import ObjectStore

DEFAULT_GRACE_SECONDS = 120.0


class Ledger:
    """Records by object key plus the watermark; `load()` (or `scan()` for writers) first, then `write()`."""

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix.strip("/")
        self.records = RecordTable()  # on local disk (table.py): memory does not grow with the ledger
        self.watermark = Watermark()
        self.problems: list[LedgerProblem] = []  # files the last load skipped (torn or corrupt)
        self._lamport = 0

    # -- reading ---------------------------------------------------------------------------------

    def scan(self) -> Ledger:
        """Learn the current lamport number from file names only (enough for writers)."""
        self._lamport = highest_lamport(self.store, self.prefix)
        return self

    def load(self) -> Ledger:
        """Read the newest readable snapshot and the segments it did not fold."""
        view = read_view(self.store, self.prefix)
        self.records.close()
        self.records, self.watermark, self.problems = view.records, view.watermark, view.problems
        self._lamport = view.lamport
        return self

    # -- queries ---------------------------------------------------------------------------------

    def get(self, key: str) -> LedgerRecord | None:
        return self.records.get(key)

    def in_state(self, *states: ObjectState) -> list[LedgerRecord]:
        return self.records.in_state(states)

    def counts(self) -> dict[str, int]:
        return self.records.counts()

    # -- writing ---------------------------------------------------------------------------------

    def write(
        self, records: Iterable[LedgerRecord], watermark: Watermark | None = None, writer: str = ""
    ) -> str | None:
        """Persist a batch of record updates (and the watermark) as one new segment; None if empty."""
        batch = list(records)
        if not batch and watermark is None:
            return None
        lamport = self._lamport + 1
        key = new_segment_key(self.prefix, lamport)
        header = {"kind": "segment", "lamport": lamport, "writer": writer}
        write_file(self.store, key, header, (record.to_row() for record in batch), watermark)
        self._lamport = lamport
        self.records.put_rows(record.to_row() for record in batch)
        if watermark is not None:
            self.watermark = watermark
        return key

    def append_rows(self, rows: Iterable[RecordRow], writer: str = "") -> str:
        """Stream a (possibly huge) batch into one new segment without keeping it in memory or in
        `records` (for a writer opened with `scan()`, e.g. the split of a ledger into shards)."""
        lamport = self._lamport + 1
        key = new_segment_key(self.prefix, lamport)
        write_file(self.store, key, {"kind": "segment", "lamport": lamport, "writer": writer}, rows)
        self._lamport = lamport
        return key

    def compact(self, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> Compaction:
        """Fold every listed segment into a new snapshot and delete superseded files (compaction.py)."""
        return compact(self.store, self.prefix, grace_seconds)
