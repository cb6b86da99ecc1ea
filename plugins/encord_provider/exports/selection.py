"""Which listed rows a version exports, decided in one streamed pass over the listing sorted by label hash.

The pass merges the listing with the previous version's membership (`exports.membership`) and writes, as
it goes, `membership.csv.gz` (every listed row), `left_rows.csv` (rows gone since the previous version)
and `source_rows.csv` (the rows this version exports, in label-hash order: also the order they are
fetched and written in). It also yields the source digest and the high-water mark. Memory: one row,
plus the fingerprints of the rows edited at the newest instant (they go into the manifest).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from encord_provider.exports.digest import sorted_digest
from encord_provider.exports.membership import LEFT_ROWS, MEMBERSHIP, Member, MembershipDiff, MembershipWriter
from encord_provider.exports.model import Manifest, RowRef, VersionKind
from encord_provider.exports.spool import Row, SortedSpool

SOURCE_ROWS = "source_rows.csv"
FETCH_ROWS = "fetch_rows.csv"
"""The selected rows with what the source kept from its listing (`RowRef.listing`): read by the fetch, not exported."""
SOURCE_ROWS_HEADER = ("label_hash", "data_hash", "last_edited_at")


@dataclass
class Selection:
    """What the pass found and wrote."""

    selected: int
    members: int
    entered: int | None
    left: int | None
    digest: str
    high_water_mark: datetime | None
    boundary_rows: list[str]
    files: dict[str, Path] = field(default_factory=dict)
    """The files the version exports, by name."""
    fetch_rows: Path = Path(FETCH_ROWS)

    def counts(self) -> dict[str, int]:
        counts = {"member_rows": self.members}
        if self.entered is not None and self.left is not None:
            counts.update(rows_entered=self.entered, rows_left=self.left)
        return counts


def unique_refs(rows: Iterable[Row]) -> Iterator[RowRef]:
    """Sorted spool rows as RowRefs, one per label hash (a row listed twice keeps its latest edit)."""
    pending: Row | None = None
    for row in rows:
        if pending is not None and row[0] != pending[0]:
            yield RowRef.from_row(pending)
        pending = row
    if pending is not None:
        yield RowRef.from_row(pending)


def is_new(ref: RowRef, previous: Manifest | None, boundary: frozenset[str]) -> bool:
    """Edited after the previous version's high-water mark (and not one of the rows exported at it)."""
    if previous is None or previous.high_water_mark is None:
        return True
    if ref.last_edited_at is None:
        return False
    if ref.last_edited_at > previous.high_water_mark:
        return True
    return ref.last_edited_at == previous.high_water_mark and ref.fingerprint() not in boundary


class _HighWater:
    """The newest edit among the exported rows and the fingerprints of the rows edited at that instant."""

    def __init__(self) -> None:
        self.mark: datetime | None = None
        self.at_mark: set[str] = set()

    def add(self, ref: RowRef) -> None:
        edited = ref.last_edited_at
        if edited is None:
            return
        if self.mark is None or edited > self.mark:
            self.mark, self.at_mark = edited, {ref.fingerprint()}
        elif edited == self.mark:
            self.at_mark.add(ref.fingerprint())

    def result(self, previous: Manifest | None) -> tuple[datetime | None, list[str]]:
        """(mark, boundary rows), never going back before the previous version's mark."""
        mark, boundary = self.mark, set(self.at_mark)
        if previous and previous.high_water_mark and (mark is None or previous.high_water_mark > mark):
            return previous.high_water_mark, list(previous.boundary_rows)
        if previous and previous.high_water_mark == mark:
            boundary.update(previous.boundary_rows)  # rows exported at the same instant by earlier versions
        return mark, sorted(boundary)


def select_rows(
    listed: Iterable[RowRef],
    kind: VersionKind,
    previous: Manifest | None,
    previous_members: Iterable[Member] | None,
    workdir: Path,
) -> Selection:
    """One pass over `listed` (sorted by label hash, unique): write the files, pick the rows to export.

    A full version exports every listed row; an incremental one the rows edited since the previous
    version and the rows that entered the filtered set (missing from `previous_members`).
    """
    boundary = frozenset(previous.boundary_rows) if previous else frozenset()
    membership = MembershipWriter(workdir / MEMBERSHIP)
    fingerprints = SortedSpool(workdir, "fingerprints")
    high_water = _HighWater()
    diff: MembershipDiff | None = None
    with (
        (workdir / SOURCE_ROWS).open("w", newline="", encoding="utf-8") as source_rows,
        (workdir / LEFT_ROWS).open("w", newline="", encoding="utf-8") as left_out,
        (workdir / FETCH_ROWS).open("w", newline="", encoding="utf-8") as fetch_rows,
    ):
        source_csv, fetch_csv = csv.writer(source_rows), csv.writer(fetch_rows)
        source_csv.writerow(SOURCE_ROWS_HEADER)
        fetch_csv.writerow((*SOURCE_ROWS_HEADER, "listing"))
        walk: Iterable[tuple[RowRef, bool]] = ((ref, False) for ref in listed)
        if previous_members is not None:
            diff = MembershipDiff(previous_members, left_out)
            walk = diff.walk(listed)
        selected = 0
        for ref, entered in walk:
            membership.add(ref)
            if kind == "full" or entered or is_new(ref, previous, boundary):
                source_csv.writerow(ref.to_row())
                fetch_csv.writerow(ref.to_spool_row())
                fingerprints.add((ref.fingerprint(),))
                high_water.add(ref)
                selected += 1
    membership.close()
    digest = sorted_digest(row[0] for row in fingerprints.sorted())
    fingerprints.remove()
    mark, boundary_rows = high_water.result(previous)
    files = {SOURCE_ROWS: workdir / SOURCE_ROWS, MEMBERSHIP: workdir / MEMBERSHIP}
    if diff is not None:
        files[LEFT_ROWS] = workdir / LEFT_ROWS
    return Selection(
        selected=selected,
        members=membership.rows,
        entered=diff.entered if diff else None,
        left=diff.left if diff else None,
        digest=digest,
        high_water_mark=mark,
        boundary_rows=boundary_rows,
        files=files,
        fetch_rows=workdir / FETCH_ROWS,
    )


def read_selected(path: Path) -> Iterator[RowRef]:
    """The rows of a `source_rows.csv` (or `fetch_rows.csv`, with their listing), in file order."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        next(rows, None)
        for row in rows:
            yield RowRef.from_row(row)
