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

import logging
from collections import Counter
from collections.abc import Iterable, Iterator

from encord_provider.ledger.compaction import Compaction, compact
from encord_provider.ledger.files import write_file
from encord_provider.ledger.index import (
    IndexMismatchError,
    SnapshotIndex,
    block_counts,
    read_block,
    read_indexed_view,
    state_mask,
)
from encord_provider.ledger.names import new_segment_key
from encord_provider.ledger.reader import LedgerProblem, highest_lamport, read_view
from encord_provider.ledger.records import LedgerRecord, ObjectState, RecordRow, Watermark
from encord_provider.ledger.table import RecordTable
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import ObjectNotFoundError

log = logging.getLogger(__name__)

DEFAULT_GRACE_SECONDS = 120.0
DEFERRED_WATERMARKS = 30  # record-less segments (no-op runs' watermarks) a run may leave unfolded


class Ledger:
    """Records by object key plus the watermark; `load()` (or `scan()` for writers) first, then `write()`."""

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix.strip("/")
        self._table = RecordTable()  # on local disk (table.py): memory does not grow with the ledger
        self._index: SnapshotIndex | None = None  # open(): the snapshot's blocks not fetched yet
        self._fetched: set[int] = set()
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
        self._table.close()
        self._table, self.watermark, self.problems = view.records, view.watermark, view.problems
        self._lamport, self._index = view.lamport, None
        return self

    def open(self) -> Ledger:
        """Like `load()`, but when the newest snapshot has an index (index.py) only the index and the
        unfolded segments are read: `get`, `in_state`, `with_chunk_prefix` and `counts` fetch just the
        snapshot blocks they need (index.py), and `records` fetches the rest first. What a no-op run
        reads is then the same whatever the ledger's size."""
        view = read_indexed_view(self.store, self.prefix)
        if view is None:
            return self.load()
        self._table.close()
        self._table, self.watermark, self.problems = view.records, view.watermark, view.problems
        self._lamport, self._index, self._fetched = view.lamport, view.index, set()
        return self

    def close(self) -> None:
        """Drop the local table (without fetching anything)."""
        self._table.close()

    @property
    def records(self) -> RecordTable:
        """Every record (an opened ledger fetches its snapshot's remaining blocks first)."""
        if self._index is not None:
            for number in range(len(self._index.blocks)):
                self._fetch(number)
            self._index = None
        return self._table

    def some_key(self) -> str | None:
        """Any key the ledger holds (an opened ledger answers from its index, reading no block)."""
        if self._index is not None and self._index.blocks:
            return self._index.blocks[0].first_key
        return next(iter(self._table), None)

    @property
    def fetched_blocks(self) -> int:
        """Snapshot blocks an opened ledger has read so far (benches and tests)."""
        return len(self._fetched)

    def _fetch(self, number: int | None) -> None:
        index = self._index
        if index is None or number is None or number in self._fetched:
            return
        try:
            rows = read_block(self.store, index, number)
        except (IndexMismatchError, ObjectNotFoundError, ValueError) as err:
            log.warning("ledger %s: %s; reading the whole ledger instead", self.prefix, err)
            self.load()  # every write so far is in a segment, so this loses nothing
            return
        self._table.put_older_rows(rows)
        self._fetched.add(number)

    # -- queries ---------------------------------------------------------------------------------

    def get(self, key: str) -> LedgerRecord | None:
        if self._index is not None:
            self._fetch(self._index.block_of(key))
        return self._table.get(key)

    def in_state(self, *states: ObjectState) -> list[LedgerRecord]:
        if self._index is not None:
            for number in self._index.blocks_with(state_mask(states)):
                self._fetch(number)
        return self._table.in_state(states)

    def with_chunk_prefix(self, prefix: str) -> Iterator[LedgerRecord]:
        """Records whose chunk URI starts with `prefix` (one run's objects); an opened ledger fetches only
        the blocks whose chunk range can hold such a URI."""
        if self._index is not None:
            for number in self._index.blocks_for_chunk_prefix(prefix):
                self._fetch(number)
        return self._table.with_chunk_prefix(prefix)

    def counts(self) -> dict[str, int]:
        """Records per state. An opened ledger whose index counts states fetches only the blocks that
        hold a key of its segments (or writes); the others' counts come from the index."""
        index = self._index
        if index is None or not index.has_counts:
            return self.records.counts()
        for number in {index.block_of(key) for key in self._table}:
            self._fetch(number)  # the block's old rows then sit under their newer ones in the table
        if self._index is None:  # a block did not match its index: everything was read
            return self._table.counts()
        totals = Counter(self._table.counts())
        for number, block in enumerate(index.blocks):
            if number not in self._fetched:
                totals.update(block_counts(block))
        return {state: totals[state] for state in sorted(totals) if totals[state]}

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
        self._table.put_rows(record.to_row() for record in batch)
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

    def compact(self, grace_seconds: float = DEFAULT_GRACE_SECONDS, defer_watermarks: int = 0) -> Compaction:
        """Fold every listed segment into a new snapshot and delete superseded files (compaction.py);
        with `defer_watermarks`, up to that many record-less segments are left for a later fold."""
        return compact(self.store, self.prefix, grace_seconds, defer_watermarks=defer_watermarks)
