"""A consistent read of the ledger: the newest readable snapshot, then every listed segment it did not fold.

Why this is safe while others write and compact (see compaction.py for the deleting side):

- Segments are listed *before* snapshots. A segment that compaction deleted before our listing was folded
  into a snapshot written before that deletion, so we see that snapshot (or a newer one built on it).
- A segment PUT while a compaction runs is not in that compaction's folded list, so it is read on top of
  the snapshot, whatever its lamport number or its writer's clock.
- A listed file that is gone when we read it means a compaction deleted it under us: the whole read
  starts again (it sees the compaction's snapshot then), up to `READ_ATTEMPTS` times.
- A torn or corrupt file is skipped with a warning naming it (files.py says which is which): a segment's
  batch is lost and its objects are retried; a snapshot is replaced by the next older readable one, whose
  later segments compaction keeps for exactly this reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from encord_provider.errors import TransientError
from encord_provider.ledger.files import (
    LedgerCorruptError,
    LedgerFile,
    decode_file,
    decode_header,
    decode_stream,
)
from encord_provider.ledger.names import (
    SEGMENTS,
    SNAPSHOTS,
    SegmentFile,
    SnapshotFile,
    legacy_folded,
    segment_file,
    snapshot_file,
)
from encord_provider.ledger.records import Watermark
from encord_provider.ledger.table import RecordTable
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import ObjectNotFoundError

log = logging.getLogger(__name__)
READ_ATTEMPTS = 5
HEADER_PROBE = 64 * 1024
PIECE_BYTES = 8 * 1024 * 1024  # files stream in ranges of this size, never read whole


class LedgerChangedError(TransientError, RuntimeError):
    """The ledger kept changing under a reader (files vanished on every attempt)."""


@dataclass(frozen=True, slots=True)
class LedgerProblem:
    """A file a read skipped: `kind` is "torn" or "corrupt"."""

    uri: str
    key: str
    kind: str
    line: int | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"uri": self.uri, "kind": self.kind, "line": self.line, "reason": self.reason}


@dataclass
class LedgerView:
    """What one read found: the state, and the files it came from (compaction builds on this)."""

    records: RecordTable = field(default_factory=RecordTable)
    watermark: Watermark = field(default_factory=Watermark)
    lamport: int = 0  # the highest lamport number in any listed file name or header
    snapshot: SnapshotFile | None = None  # the snapshot the state starts from
    snapshot_header: dict[str, Any] = field(default_factory=dict)
    folded: frozenset[str] = frozenset()  # names of the segments inside that snapshot
    segments: list[SegmentFile] = field(default_factory=list)  # every listed segment, in read order
    snapshots: list[SnapshotFile] = field(default_factory=list)  # every listed snapshot, newest first
    problems: list[LedgerProblem] = field(default_factory=list)

    @property
    def unfolded(self) -> list[SegmentFile]:
        return [s for s in self.segments if s.name not in self.folded]

    def folded_by_next_snapshot(self) -> frozenset[str]:
        """What a snapshot of this view folds: every listed segment (names of deleted ones drop out)."""
        return frozenset(s.name for s in self.segments)


def list_segments(store: ObjectStore, prefix: str) -> list[SegmentFile]:
    found = (segment_file(r) for r in store.list_objects(prefix=f"{prefix}/{SEGMENTS}/"))
    return sorted((s for s in found if s is not None), key=SegmentFile.order)


def list_snapshots(store: ObjectStore, prefix: str) -> list[SnapshotFile]:
    """Newest first."""
    found = (snapshot_file(r) for r in store.list_objects(prefix=f"{prefix}/{SNAPSHOTS}/"))
    return sorted((s for s in found if s is not None), key=SnapshotFile.order, reverse=True)


def highest_lamport(store: ObjectStore, prefix: str) -> int:
    """From file names only: what a writer needs to sort after everything it could have seen."""
    numbers = [s.lamport for s in list_segments(store, prefix)]
    numbers += [s.lamport for s in list_snapshots(store, prefix)]
    return max(numbers, default=0)


def folded_by(header: dict[str, Any], snapshot: SnapshotFile, segments: list[SegmentFile]) -> frozenset[str]:
    if snapshot.legacy_boundary_ns is not None:
        return legacy_folded(snapshot.legacy_boundary_ns, segments)
    return frozenset(header.get("folded") or ())


def problem_of(err: LedgerCorruptError, key: str) -> LedgerProblem:
    return LedgerProblem(err.uri, key, err.kind, err.line, err.reason)


def read_file(store: ObjectStore, key: str) -> LedgerFile:
    """Raises LedgerCorruptError (torn or corrupt) or ObjectNotFoundError."""
    return decode_file(store.read_bytes(key), store.uri(key))


def read_header(store: ObjectStore, key: str) -> dict[str, Any]:
    """Only the first line of a (possibly large) file."""
    size = HEADER_PROBE
    while True:
        first = store.read_range(key, 0, size)
        if b"\n" in first or len(first) < size:
            return decode_header(first, store.uri(key))
        size *= 4


CONSEQUENCE = {
    "segment": "its batch is lost and its objects are retried",
    "snapshot": "the next older snapshot and the segments after it are read instead",
}


def _skip(problems: list[LedgerProblem], err: LedgerCorruptError, key: str, what: str) -> None:
    problems.append(problem_of(err, key))
    level = logging.WARNING if err.kind == "torn" else logging.ERROR
    log.log(level, "skipping %s ledger %s %s; %s", err.kind, what, err, CONSEQUENCE[what])


def pieces(store: ObjectStore, key: str) -> Iterator[bytes]:
    """The file in consecutive ranges (a short range is the last)."""
    offset = 0
    while True:
        piece = store.read_range(key, offset, PIECE_BYTES)
        yield piece
        if len(piece) < PIECE_BYTES:
            return
        offset += len(piece)


def load_into(store: ObjectStore, key: str, table: RecordTable) -> tuple[dict[str, Any], Watermark | None]:
    """Stream one file's records into `table`, all of them or none (LedgerCorruptError, ObjectNotFoundError)."""
    table.begin("ledger_file")
    try:
        header, watermark = decode_stream(pieces(store, key), store.uri(key), table.put_rows)
    except BaseException:
        table.rollback("ledger_file")
        raise
    table.commit("ledger_file")
    return header, watermark


def _read_once(store: ObjectStore, prefix: str) -> LedgerView:
    view = LedgerView(segments=list_segments(store, prefix))  # segments first: see the module doc
    view.snapshots = list_snapshots(store, prefix)
    view.lamport = max([s.lamport for s in view.segments] + [s.lamport for s in view.snapshots], default=0)
    for snapshot in view.snapshots:
        try:
            header, watermark = load_into(store, snapshot.key, view.records)
        except LedgerCorruptError as err:
            _skip(view.problems, err, snapshot.key, "snapshot")
            continue
        view.snapshot, view.snapshot_header = snapshot, header
        view.folded = folded_by(header, snapshot, view.segments)
        _note(view, header, watermark)
        break
    for segment in view.unfolded:
        try:
            _note(view, *load_into(store, segment.key, view.records))
        except LedgerCorruptError as err:
            _skip(view.problems, err, segment.key, "segment")
    return view


def _note(view: LedgerView, header: dict[str, Any], watermark: Watermark | None) -> None:
    view.lamport = max(view.lamport, int(header.get("lamport", 0)))
    if watermark is not None:
        view.watermark = watermark


def read_view(store: ObjectStore, prefix: str) -> LedgerView:
    """Read the ledger under `prefix`, starting again when a compaction deletes a file under us."""
    for attempt in range(1, READ_ATTEMPTS + 1):
        try:
            return _read_once(store, prefix)
        except ObjectNotFoundError as err:  # (the partial view's table is collected with it)
            log.info("ledger %s changed while reading (%s); reading again (%d)", prefix, err, attempt)
    raise LedgerChangedError(
        f"ledger {store.uri(prefix)} changed under {READ_ATTEMPTS} reads in a row; is a compaction looping?"
    )
