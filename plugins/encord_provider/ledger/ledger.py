"""Durable per-pipeline ledger kept in the staging bucket through an ObjectStore.

Layout under `<prefix>/` (prefix e.g. `encord-staging/ledger/<pipeline>`):

- `segments/<lamport:012d>-<created_ns:020d>-<rand>.jsonl`: one append-only batch of record updates (and
  optionally the watermark), written with a single PUT, so a crash leaves either the whole batch or nothing.
- `snapshots/<boundary_ns:020d>-<rand>.jsonl`: a compaction: every record as of all segments created at or
  before `boundary_ns`.

Reading = newest snapshot, then every segment created after its boundary, in (lamport, created) order.
The lamport number is 1 + the highest number the writer saw when it opened the ledger, so a write that
causally follows another (link after register, next run after this one) always sorts after it, whatever the
workers' clocks say. Writers running at the same time (mapped chunk tasks) touch disjoint keys.
Compaction leaves out segments younger than a grace period, so a slow concurrent PUT is never skipped.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from encord_provider.ledger.records import LedgerRecord, ObjectState, Watermark
from encord_provider.storage.base import ObjectStore

FORMAT_VERSION = 1
_SEGMENT_NAME = re.compile(r"(?P<lamport>\d{12})-(?P<created>\d{20})-(?P<rand>[0-9a-f]{8})\.jsonl$")
_SNAPSHOT_NAME = re.compile(r"(?P<boundary>\d{20})-(?P<rand>[0-9a-f]{8})\.jsonl$")


class LedgerCorruptError(RuntimeError):
    """A ledger file cannot be parsed (names the file and line)."""


@dataclass(frozen=True, slots=True, order=True)
class _SegmentName:
    lamport: int
    created_ns: int
    key: str


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Ledger:
    """Records by object key plus the watermark; `load()` first, then `record()` / `write()`."""

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix.strip("/")
        self.records: dict[str, LedgerRecord] = {}
        self.watermark = Watermark()
        self._lamport = 0
        self._loaded = False

    # -- reading ---------------------------------------------------------------------------------

    def _keys_under(self, folder: str) -> Iterator[str]:
        base = f"{self.prefix}/{folder}/"
        for obj in self.store.list_objects(prefix=base):
            yield obj.key

    def _segments(self) -> list[_SegmentName]:
        names = []
        for key in self._keys_under("segments"):
            match = _SEGMENT_NAME.search(key)
            if match:
                names.append(_SegmentName(int(match["lamport"]), int(match["created"]), key))
        return sorted(names)

    def _latest_snapshot(self) -> tuple[int, str] | None:
        snapshots = []
        for key in self._keys_under("snapshots"):
            match = _SNAPSHOT_NAME.search(key)
            if match:
                snapshots.append((int(match["boundary"]), key))
        return max(snapshots) if snapshots else None

    def _apply_file(self, key: str) -> int:
        """Apply one snapshot or segment file; returns the highest lamport number it declares."""
        lamport = 0
        text = self.store.read_bytes(key).decode("utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if "header" in data:
                    lamport = max(lamport, int(data["header"].get("lamport", 0)))
                elif "watermark" in data:
                    self.watermark = Watermark.from_json(data["watermark"])
                else:
                    record = LedgerRecord.from_json(data)
                    self.records[record.key] = record
            except (ValueError, KeyError, TypeError) as err:
                raise LedgerCorruptError(f"{self.store.uri(key)}:{number}: {err}") from err
        return lamport

    def scan(self) -> Ledger:
        """Learn the current lamport number from file names only (enough for writers)."""
        segments = self._segments()
        self._lamport = max((s.lamport for s in segments), default=0)
        return self

    def load(self) -> Ledger:
        """Read the newest snapshot and the segments after it."""
        self.records.clear()
        self.watermark = Watermark()
        snapshot = self._latest_snapshot()
        boundary = snapshot[0] if snapshot else -1
        lamport = self._apply_file(snapshot[1]) if snapshot else 0
        for segment in self._segments():
            lamport = max(lamport, segment.lamport)
            if segment.created_ns > boundary:
                self._apply_file(segment.key)
        self._lamport = lamport
        self._loaded = True
        return self

    # -- queries ---------------------------------------------------------------------------------

    def get(self, key: str) -> LedgerRecord | None:
        return self.records.get(key)

    def in_state(self, *states: ObjectState) -> list[LedgerRecord]:
        wanted = set(states)
        return [record for record in self.records.values() if record.state in wanted]

    def counts(self) -> dict[str, int]:
        return dict(Counter(str(record.state) for record in self.records.values()))

    # -- writing ---------------------------------------------------------------------------------

    def write(
        self, records: Iterable[LedgerRecord], watermark: Watermark | None = None, writer: str = ""
    ) -> str | None:
        """Persist a batch of record updates (and the watermark) as one new segment; None if empty."""
        batch = list(records)
        if not batch and watermark is None:
            return None
        lamport = self._lamport + 1
        name = f"{lamport:012d}-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.jsonl"
        key = f"{self.prefix}/segments/{name}"
        lines = [_dumps({"header": {"v": FORMAT_VERSION, "lamport": lamport, "writer": writer}})]
        lines += [_dumps(record.to_json()) for record in batch]
        if watermark is not None:
            lines.append(_dumps({"watermark": watermark.to_json()}))
        self.store.write_bytes(key, ("\n".join(lines) + "\n").encode("utf-8"), "application/x-ndjson")
        self._lamport = lamport
        for record in batch:
            self.records[record.key] = record
        if watermark is not None:
            self.watermark = watermark
        return key

    def compact(self, grace_seconds: float = 120.0) -> str | None:
        """Fold every segment older than the grace period into a new snapshot; returns its key.

        Old segments and snapshots are deleted only when the store offers `delete(key)`; readers skip them
        either way.
        """
        boundary = time.time_ns() - int(grace_seconds * 1e9)
        snapshot = self._latest_snapshot()
        previous_boundary = snapshot[0] if snapshot else -1
        segments = self._segments()
        folded = [s for s in segments if previous_boundary < s.created_ns <= boundary]
        if not folded:
            return None
        state = Ledger(self.store, self.prefix)
        lamport = state._apply_file(snapshot[1]) if snapshot else 0
        for segment in folded:
            lamport = max(lamport, segment.lamport, state._apply_file(segment.key))
        key = f"{self.prefix}/snapshots/{boundary:020d}-{uuid.uuid4().hex[:8]}.jsonl"
        lines = [_dumps({"header": {"v": FORMAT_VERSION, "lamport": lamport, "boundary_ns": boundary}})]
        lines += [_dumps(record.to_json()) for record in state.records.values()]
        lines.append(_dumps({"watermark": state.watermark.to_json()}))
        self.store.write_bytes(key, ("\n".join(lines) + "\n").encode("utf-8"), "application/x-ndjson")
        self._delete_covered(folded, snapshot[1] if snapshot else None)
        return key

    def _delete_covered(self, segments: list[_SegmentName], old_snapshot: str | None) -> None:
        delete = getattr(self.store, "delete", None)
        if not callable(delete):
            return
        for segment in segments:
            delete(segment.key)
        if old_snapshot:
            delete(old_snapshot)
