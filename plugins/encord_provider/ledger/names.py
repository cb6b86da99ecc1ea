"""Names of the ledger's files and the order they are read in.

No worker's clock is part of a name or of the order:

- a segment is `segments/<lamport:012d>-<token>.jsonl`; segments are applied in (lamport, the store's own
  LastModified, key) order. The lamport number is 1 + the highest number the writer saw, so a write that
  causally follows another sorts after it; the store's timestamp only breaks ties between writers that
  saw the same ledger (and, by design, touch disjoint keys).
- a snapshot is `snapshots/<lamport:012d>-<token>.jsonl`; its lamport number is 1 + the highest number in
  the ledger it folded, so a newer snapshot always sorts after the one it was built on. Which segments it
  folded is written inside it (see `files.py`), not derived from a time boundary.

Files written by the first ledger format (`<lamport>-<created ns>-<rand>` segments, `<boundary ns>-<rand>`
snapshots) are still read: a legacy snapshot sorts before every new one and folded the legacy segments
created at or before its boundary.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from encord_provider.storage.records import ObjectRecord

SEGMENTS = "segments"
SNAPSHOTS = "snapshots"
QUARANTINE = "quarantine"

_NEW_NAME = re.compile(r"(?P<lamport>\d{12})-(?P<token>[0-9a-f]{16})\.jsonl")
_LEGACY_SEGMENT = re.compile(r"(?P<lamport>\d{12})-(?P<created>\d{20})-(?P<token>[0-9a-f]{8})\.jsonl")
_LEGACY_SNAPSHOT = re.compile(r"(?P<boundary>\d{20})-(?P<token>[0-9a-f]{8})\.jsonl")
LEGACY_LAMPORT = -1  # legacy snapshot names carry no lamport number: they sort before every new snapshot


@dataclass(frozen=True, slots=True)
class SegmentFile:
    """One listed segment: an append-only batch of record updates written with a single PUT."""

    key: str
    lamport: int
    last_modified: datetime
    legacy_created_ns: int | None = None

    @property
    def name(self) -> str:
        return self.key.rpartition("/")[2]

    def order(self) -> tuple[int, datetime, str]:
        return (self.lamport, self.last_modified, self.key)


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    """One listed snapshot: every record as of the segments it names as folded."""

    key: str
    lamport: int
    last_modified: datetime
    legacy_boundary_ns: int | None = None

    @property
    def name(self) -> str:
        return self.key.rpartition("/")[2]

    def order(self) -> tuple[int, str]:
        return (self.lamport, self.name)


def segment_file(record: ObjectRecord) -> SegmentFile | None:
    """The segment a listed object is, or None for anything else under `segments/`."""
    name = record.key.rpartition("/")[2]
    if match := _NEW_NAME.fullmatch(name):
        return SegmentFile(record.key, int(match["lamport"]), record.last_modified)
    if match := _LEGACY_SEGMENT.fullmatch(name):
        return SegmentFile(record.key, int(match["lamport"]), record.last_modified, int(match["created"]))
    return None


def snapshot_file(record: ObjectRecord) -> SnapshotFile | None:
    """The snapshot a listed object is, or None for anything else under `snapshots/`."""
    name = record.key.rpartition("/")[2]
    if match := _NEW_NAME.fullmatch(name):
        return SnapshotFile(record.key, int(match["lamport"]), record.last_modified)
    if match := _LEGACY_SNAPSHOT.fullmatch(name):
        return SnapshotFile(record.key, LEGACY_LAMPORT, record.last_modified, int(match["boundary"]))
    return None


def _new_name(lamport: int) -> str:
    return f"{lamport:012d}-{uuid.uuid4().hex[:16]}.jsonl"


def new_segment_key(prefix: str, lamport: int) -> str:
    return f"{prefix}/{SEGMENTS}/{_new_name(lamport)}"


def new_snapshot_key(prefix: str, lamport: int) -> str:
    return f"{prefix}/{SNAPSHOTS}/{_new_name(lamport)}"


def quarantine_key(prefix: str, key: str) -> str:
    """Where an unreadable ledger file is copied before compaction may delete it."""
    folder, _, name = key.rpartition("/")
    return f"{prefix}/{QUARANTINE}/{folder.rpartition('/')[2]}/{name}"


def legacy_folded(boundary_ns: int, segments: list[SegmentFile]) -> frozenset[str]:
    """Segments a legacy snapshot folded: the legacy ones created at or before its time boundary."""
    return frozenset(
        s.name for s in segments if s.legacy_created_ns is not None and s.legacy_created_ns <= boundary_ns
    )
