"""Which label rows matched the export's filters at each version, and what changed since the previous one.

Every version stores its whole membership (the rows the filters selected, e.g. every row in the stage)
as `membership.csv.gz`: `label_hash,data_hash` lines sorted by label hash. The next version compares its
own listing with that file in one sorted merge, so a row that entered the stage without a label edit is
exported, and a row that left it is reported in `left_rows.csv`. The previous file is read in chunks
(`read_range`), never whole, and the current listing arrives sorted from disk (`exports.spool`): memory
stays at one chunk.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from encord_provider.exports.model import ExportError, RowRef
from encord_provider.storage.base import ObjectStore

MEMBERSHIP = "membership.csv.gz"
LEFT_ROWS = "left_rows.csv"
READ_CHUNK = 4 << 20
Member = tuple[str, str]


def sorted_refs(refs: Iterable[RowRef]) -> list[RowRef]:
    """`refs` by label hash, each label hash once (the order membership files are written in)."""
    unique = {ref.label_hash: ref for ref in refs}
    return [unique[key] for key in sorted(unique)]


class MembershipWriter:
    """`membership.csv.gz` written one row at a time (rows arrive sorted by label hash)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        # mtime=0: the same members give the same bytes (and checksum) on every run.
        self._gzip = gzip.GzipFile(path, "wb", mtime=0)
        self._fh = io.TextIOWrapper(self._gzip, encoding="utf-8", newline="")
        self._csv = csv.writer(self._fh)

    def add(self, ref: RowRef) -> None:
        self._csv.writerow([ref.label_hash, ref.data_hash])
        self.rows += 1

    def close(self) -> Path:
        self._fh.close()
        self._gzip.close()
        return self.path


def write_membership(path: Path, refs: Iterable[RowRef]) -> Path:
    """Write the sorted membership of `refs` (already sorted by `sorted_refs`)."""
    writer = MembershipWriter(path)
    for ref in refs:
        writer.add(ref)
    return writer.close()


def read_membership(store: ObjectStore, key: str, size: int, chunk: int = READ_CHUNK) -> Iterator[Member]:
    """Stream `(label_hash, data_hash)` from a membership file of `size` bytes, in file order."""
    decoder = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    pending = ""
    for start in range(0, size, chunk):
        pending += decoder.decompress(store.read_range(key, start, min(chunk, size - start))).decode("utf-8")
        *lines, pending = pending.split("\n")
        yield from _members(lines, key)
    pending += decoder.flush().decode("utf-8")
    yield from _members(pending.split("\n"), key)


def _members(lines: list[str], key: str) -> Iterator[Member]:
    for line in lines:
        line = line.rstrip("\r")
        if not line:
            continue
        label_hash, sep, data_hash = line.partition(",")
        if not sep:
            raise ExportError(f"{key}: malformed membership line {line[:80]!r}")
        yield label_hash, data_hash


class MembershipDiff:
    """One sorted merge of the current listing with the previous version's membership.

    `walk(current)` yields each current row (sorted by label hash, each once) with whether it entered
    (is missing from `previous`); rows of `previous` missing from `current` are written to `left_out` as
    CSV (`label_hash,data_hash`) and counted in `left`. Memory: one row of each side.
    """

    def __init__(self, previous: Iterable[Member], left_out: TextIO) -> None:
        self._previous = iter(previous)
        self._left_csv = csv.writer(left_out)
        self._left_csv.writerow(["label_hash", "data_hash"])
        self._last_previous = ""
        self.entered = 0
        self.left = 0

    def _next_previous(self) -> Member | None:
        member = next(self._previous, None)
        if member is not None:
            if member[0] < self._last_previous:
                raise ExportError(f"membership file is not sorted at {member[0]!r}")
            self._last_previous = member[0]
        return member

    def _leave(self, member: Member) -> None:
        self._left_csv.writerow(member)
        self.left += 1

    def walk(self, current: Iterable[RowRef]) -> Iterator[tuple[RowRef, bool]]:
        member = self._next_previous()
        for ref in current:
            while member is not None and member[0] < ref.label_hash:
                self._leave(member)
                member = self._next_previous()
            entered = member is None or member[0] != ref.label_hash
            if not entered:
                member = self._next_previous()
            self.entered += entered
            yield ref, entered
        while member is not None:
            self._leave(member)
            member = self._next_previous()


@dataclass
class MembershipChange:
    """The outcome of comparing the current listing with the previous version's membership."""

    entered: list[RowRef] = field(default_factory=list)
    left: int = 0


def compare(current: Iterable[RowRef], previous: Iterable[Member], left_out: TextIO) -> MembershipChange:
    """`MembershipDiff` collected in memory: the entered rows as a list (small comparisons, tests)."""
    diff = MembershipDiff(previous, left_out)
    entered = [ref for ref, is_entered in diff.walk(current) if is_entered]
    return MembershipChange(entered, diff.left)


def read_all(data: bytes) -> list[Member]:
    """Every member of a (small) membership file held in memory; for tests and readers."""
    with gzip.open(io.BytesIO(data), "rt", encoding="utf-8") as fh:
        return [(row[0], row[1]) for row in csv.reader(fh) if row]
