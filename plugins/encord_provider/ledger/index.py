"""A sparse index of a key-sorted snapshot, so a task can look up the keys it lists without reading the
whole ledger (a no-op run then costs the same whatever the ledger's size).

`<prefix>/index/<snapshot name>.json`, written right after its snapshot by compaction:

    {"v": 1, "snapshot": "<name>.jsonl", "header": {...}, "watermark": {...} | null, "records": N,
     "blocks": [[first key, byte offset, byte length, blake2b-128 hex, state mask], ...],
     "stats": [[[records per state, in STATES order], lowest chunk, highest chunk], ...]}  (one per block)

A block is a run of consecutive record lines of about `BLOCK_BYTES`; its state mask has bit i set when a
record in it is in state `STATES[i]`; its stats count its records per state and bound their chunk URIs
(so ledger totals and one run's records need no block that cannot change the answer). A reader (`read_indexed_view`) lists the files as `reader.py` does,
takes the index of the newest snapshot, reads every segment that snapshot did not fold, and fetches a
block of the snapshot (one range request, checked against its digest) only when a key in it, or a state
in its mask, is asked for. Rows from blocks never override rows from segments or writes (they are older).

Crash safety is unchanged: the index is written after its snapshot's single PUT, so a snapshot with an
index was written whole; a crash between the two leaves a snapshot without one, and readers then read the
ledger whole as before. A block whose bytes do not match its digest, or a snapshot that vanished (a
compaction in between), makes the reader read the whole ledger (`Ledger.load`), which applies the torn /
corrupt rules of files.py. A snapshot whose keys are not strictly sorted gets no index.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from encord_provider.errors import TransientError
from encord_provider.ledger.files import LedgerCorruptError, _parse_line
from encord_provider.ledger.names import SegmentFile, SnapshotFile
from encord_provider.ledger.reader import (
    READ_ATTEMPTS,
    LedgerChangedError,
    LedgerProblem,
    _skip,
    folded_by,
    list_segments,
    list_snapshots,
    load_into,
)
from encord_provider.ledger.records import ObjectState, RecordRow, Watermark
from encord_provider.ledger.table import RecordTable
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import ObjectNotFoundError

INDEX = "index"
INDEX_VERSION = 1
BLOCK_BYTES = 64 * 1024
STATES = tuple(str(s) for s in ObjectState)
_BIT = {state: 1 << i for i, state in enumerate(STATES)}
_POSITION = {state: i for i, state in enumerate(STATES)}


class IndexMismatchError(TransientError, RuntimeError):
    """A block's bytes differ from what the index recorded (the snapshot changed or was cut)."""


def index_key(prefix: str, snapshot_key: str) -> str:
    name = snapshot_key.rpartition("/")[2].removesuffix(".jsonl")
    return f"{prefix}/{INDEX}/{name}.json"


def state_mask(states: Iterable[str]) -> int:
    mask = 0
    for state in states:
        mask |= _BIT[str(state)]
    return mask


@dataclass(frozen=True, slots=True)
class Block:
    first_key: str
    offset: int
    length: int
    digest: str
    mask: int
    counts: tuple[int, ...] | None = None  # records per state (STATES order); None: an index without stats
    chunks: tuple[str, str] = ("", "\U0010ffff")  # the lowest and highest chunk URI ("" for none)

    def may_hold_chunk_prefix(self, prefix: str) -> bool:
        """False only when no record of the block can have a chunk URI starting with `prefix`."""
        low, high = self.chunks
        return high >= prefix and low[: len(prefix)] <= prefix


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class IndexBuilder:
    """Watches a snapshot being encoded (`rows()` around its rows, `lines()` around its lines) and builds
    its index; `sorted` turns False if two keys are out of order (then no index is written)."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.sorted = True
        self.records = 0
        self._pending: deque[tuple[str, str, str]] = deque()
        self._offset = 0
        self._last: str | None = None
        self._open: tuple[str, int, int] | None = None  # first key, offset, mask
        self._counts = [0] * len(STATES)
        self._chunks: tuple[str, str] | None = None
        self._bytes = bytearray()
        self._head, self._tail, self._tail_at = b"", bytearray(), 0

    def rows(self, rows: Iterable[RecordRow]) -> Iterator[RecordRow]:
        for row in rows:
            self._pending.append((row[0], row[2], row[6] or ""))
            yield row

    def lines(self, lines: Iterable[bytes]) -> Iterator[bytes]:
        for number, line in enumerate(lines):
            if number == 0:
                self._head = line
            elif self._pending:
                self._add(*self._pending.popleft(), line)
            else:
                self._close()
                self._tail_at = self._tail_at or self._offset
                self._tail += line
            self._offset += len(line)
            yield line
        self._close()

    def _add(self, key: str, state: str, chunk: str, line: bytes) -> None:
        if self._last is not None and key <= self._last:
            self.sorted = False
        self._last = key
        self.records += 1
        if self._open is None:
            self._open = (key, self._offset, 0)
        first, offset, mask = self._open
        self._open = (first, offset, mask | _BIT[state])
        self._counts[_POSITION[state]] += 1
        low, high = self._chunks or (chunk, chunk)
        self._chunks = (min(low, chunk), max(high, chunk))
        self._bytes += line
        if len(self._bytes) >= BLOCK_BYTES:
            self._close()

    def _close(self) -> None:
        if self._open is None:
            return
        first, offset, mask = self._open
        data, counts, chunks = bytes(self._bytes), tuple(self._counts), self._chunks or ("", "")
        self.blocks.append(Block(first, offset, len(data), _digest(data), mask, counts, chunks))
        self._open, self._bytes = None, bytearray()
        self._counts, self._chunks = [0] * len(STATES), None

    def dumps(self, snapshot_key: str, header: dict[str, Any], watermark: Watermark | None) -> bytes:
        body = {
            "v": INDEX_VERSION, "snapshot": snapshot_key.rpartition("/")[2], "header": header,
            "watermark": watermark.to_json() if watermark else None, "records": self.records,
            "blocks": [[b.first_key, b.offset, b.length, b.digest, b.mask] for b in self.blocks],
            "stats": [[list(b.counts or ()), *b.chunks] for b in self.blocks],
            "head": [len(self._head), _digest(self._head)],
            "tail": [self._tail_at, len(self._tail), _digest(bytes(self._tail))],
        }  # fmt: skip
        return orjson.dumps(body)


@dataclass
class SnapshotIndex:
    snapshot: SnapshotFile
    header: dict[str, Any]
    watermark: Watermark | None
    blocks: list[Block]
    head: tuple[int, str] = (0, "")  # the header line: length, digest
    tail: tuple[int, int, str] = (0, 0, "")  # the watermark and end lines: offset, length, digest
    first_keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.first_keys = [b.first_key for b in self.blocks]

    def block_of(self, key: str) -> int | None:
        """The only block that can hold `key` (None: it sorts before every key of the snapshot)."""
        position = bisect.bisect_right(self.first_keys, key) - 1
        return position if position >= 0 else None

    def blocks_with(self, mask: int) -> list[int]:
        return [i for i, block in enumerate(self.blocks) if block.mask & mask]

    def blocks_for_chunk_prefix(self, prefix: str) -> list[int]:
        return [i for i, block in enumerate(self.blocks) if block.may_hold_chunk_prefix(prefix)]

    @property
    def has_counts(self) -> bool:
        return all(block.counts is not None for block in self.blocks)


def block_counts(block: Block) -> dict[str, int]:
    """The block's records per state (only states it holds)."""
    return {state: n for state, n in zip(STATES, block.counts or (), strict=True) if n}


def _blocks(data: dict[str, Any]) -> list[Block]:
    stats = data.get("stats")
    if not isinstance(stats, list) or len(stats) != len(data["blocks"]):
        return [Block(str(k), int(o), int(n), str(d), int(m)) for k, o, n, d, m in data["blocks"]]
    blocks = []
    for (key, offset, length, digest, mask), (counts, low, high) in zip(data["blocks"], stats, strict=True):
        if len(counts) != len(STATES):
            raise ValueError("an index's state counts do not match the states")
        numbers = tuple(int(n) for n in counts)
        blocks.append(
            Block(str(key), int(offset), int(length), str(digest), int(mask), numbers, (str(low), str(high)))
        )
    return blocks


def read_index(store: ObjectStore, prefix: str, snapshot: SnapshotFile) -> SnapshotIndex | None:
    """The snapshot's index, or None when it has none (or an unreadable one)."""
    try:
        data = orjson.loads(store.read_bytes(index_key(prefix, snapshot.key)))
        if data.get("v") != INDEX_VERSION or data.get("snapshot") != snapshot.name:
            return None
        blocks = _blocks(data)
        mark = data.get("watermark")
        head, tail = data["head"], data["tail"]
        return SnapshotIndex(
            snapshot, dict(data["header"]), Watermark.from_json(mark) if mark else None, blocks,
            (int(head[0]), str(head[1])), (int(tail[0]), int(tail[1]), str(tail[2])),
        )  # fmt: skip
    except (ObjectNotFoundError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def is_intact(store: ObjectStore, index: SnapshotIndex) -> bool:
    """Whether the snapshot still starts and ends as it was written (two small ranged reads): a torn
    copy, or one with lines appended, is read whole instead, so that every reader agrees it is torn."""
    key = index.snapshot.key
    head_length, head_digest = index.head
    tail_at, tail_length, tail_digest = index.tail
    head = store.read_range(key, 0, head_length)
    tail = store.read_range(key, tail_at, tail_length + 1)  # one byte more: nothing may follow the end
    return _digest(head) == head_digest and len(tail) == tail_length and _digest(tail) == tail_digest


def read_block(store: ObjectStore, index: SnapshotIndex, number: int) -> list[RecordRow]:
    """The rows of one block (IndexMismatchError if its bytes changed; ObjectNotFoundError if gone)."""
    block = index.blocks[number]
    data = store.read_range(index.snapshot.key, block.offset, block.length)
    if len(data) != block.length or _digest(data) != block.digest:
        raise IndexMismatchError(f"{store.uri(index.snapshot.key)}: block {number} differs from its index")
    rows = []
    for line in data.split(b"\n")[:-1]:
        kind, value = _parse_line(line)
        if kind != "record":
            raise IndexMismatchError(f"{store.uri(index.snapshot.key)}: block {number} holds a {kind} line")
        rows.append(value)
    return rows


@dataclass
class IndexedView:
    """The unfolded segments' records, and the index of the snapshot under them (not read yet)."""

    records: RecordTable
    watermark: Watermark
    lamport: int
    index: SnapshotIndex
    problems: list[LedgerProblem]


def _indexed_once(store: ObjectStore, prefix: str) -> IndexedView | None:
    segments = list_segments(store, prefix)  # segments first, as reader.py does
    snapshots = list_snapshots(store, prefix)
    if not snapshots:
        return None
    index = read_index(store, prefix, snapshots[0])
    if index is None or not is_intact(store, index):
        return None
    lamport = max([s.lamport for s in segments] + [s.lamport for s in snapshots], default=0)
    view = IndexedView(RecordTable(), index.watermark or Watermark(), lamport, index, [])
    folded = folded_by(index.header, index.snapshot, segments)
    for segment in (s for s in segments if s.name not in folded):
        try:
            header, mark = load_into(store, segment.key, view.records)
        except LedgerCorruptError as err:
            _skip(view.problems, err, segment.key, "segment")
            continue
        view.lamport = max(view.lamport, int(header.get("lamport", 0)))
        view.watermark = mark or view.watermark
    view.lamport = max(view.lamport, int(index.header.get("lamport", 0)))
    return view


def unfolded_segments(store: ObjectStore, prefix: str) -> list[SegmentFile] | None:
    """The listed segments the newest snapshot did not fold, found without reading any record; None when
    that snapshot has no index or is not intact (the caller reads the ledger whole)."""
    segments = list_segments(store, prefix)
    snapshots = list_snapshots(store, prefix)
    if not snapshots:
        return segments
    try:
        index = read_index(store, prefix, snapshots[0])
        if index is None or not is_intact(store, index):
            return None
    except ObjectNotFoundError:
        return None
    folded = folded_by(index.header, index.snapshot, segments)
    return [s for s in segments if s.name not in folded]


def read_indexed_view(store: ObjectStore, prefix: str) -> IndexedView | None:
    """The ledger under `prefix` with its snapshot left unread, or None when the newest snapshot has no
    index (the caller then reads everything)."""
    for _ in range(READ_ATTEMPTS):
        try:
            return _indexed_once(store, prefix)
        except ObjectNotFoundError:
            continue
    raise LedgerChangedError(f"ledger {store.uri(prefix)} changed under {READ_ATTEMPTS} reads in a row")
