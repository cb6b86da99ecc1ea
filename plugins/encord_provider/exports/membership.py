"""Which label rows matched the export's filters at each version, and what changed since the previous one.

Every version stores its whole membership (the rows the filters selected, e.g. every row in the stage)
as `membership.csv.gz`: `label_hash,data_hash` lines sorted by label hash. The next version compares its
own listing with that file in one sorted merge, so a row that entered the stage without a label edit is
exported, and a row that left it is reported in `left_rows.csv`. The previous file is read in chunks
(`read_range`), never whole: memory stays at the current listing plus one chunk.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterable, Iterator, Sequence
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


def write_membership(path: Path, refs: Sequence[RowRef]) -> Path:
    """Write the sorted membership of `refs` (already sorted by `sorted_refs`)."""
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        for ref in refs:
            writer.writerow([ref.label_hash, ref.data_hash])
    return path


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


@dataclass
class MembershipChange:
    """The outcome of comparing the current listing with the previous version's membership."""

    entered: list[RowRef] = field(default_factory=list)
    left: int = 0


def compare(current: Sequence[RowRef], previous: Iterable[Member], left_out: TextIO) -> MembershipChange:
    """Sorted merge of `current` (from `sorted_refs`) with `previous` (sorted the same way).

    Rows of `current` missing from `previous` are returned as `entered`; rows of `previous` missing from
    `current` are written to `left_out` as CSV (`label_hash,data_hash`) and counted.
    """
    writer = csv.writer(left_out)
    writer.writerow(["label_hash", "data_hash"])
    change = MembershipChange()
    index = 0
    last_previous = ""
    for label_hash, data_hash in previous:
        if label_hash < last_previous:
            raise ExportError(f"membership file is not sorted at {label_hash!r}")
        last_previous = label_hash
        while index < len(current) and current[index].label_hash < label_hash:
            change.entered.append(current[index])
            index += 1
        if index < len(current) and current[index].label_hash == label_hash:
            index += 1
            continue
        writer.writerow([label_hash, data_hash])
        change.left += 1
    change.entered.extend(current[index:])
    return change


def compare_with_store(
    store: ObjectStore, key: str, size: int, current: Sequence[RowRef], left_path: Path
) -> MembershipChange:
    """`compare` against the membership file at `key`, writing the left rows to `left_path`."""
    with left_path.open("w", newline="", encoding="utf-8") as left_out:
        return compare(current, read_membership(store, key, size), left_out)


def read_all(data: bytes) -> list[Member]:
    """Every member of a (small) membership file held in memory; for tests and readers."""
    with gzip.open(io.BytesIO(data), "rt", encoding="utf-8") as fh:
        return [(row[0], row[1]) for row in csv.reader(fh) if row]
