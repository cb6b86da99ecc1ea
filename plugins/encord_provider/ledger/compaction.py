"""Compaction: fold every listed segment into a new snapshot, then delete what no reader can still need.

Folding. The new snapshot holds the state a reader sees right now (reader.py) and names, inside it, every
segment it folded. There is no time boundary: a segment PUT while this runs is simply not in that list, so
readers apply it on top of the snapshot and the next compaction folds it. Torn or corrupt segments are
folded too (their batch is lost by design) after a copy of them is kept under `quarantine/`.

Deleting. Readers restart when a listed file vanishes, so deleting is safe as long as the snapshot a
reader ends up with contains what was deleted. This compaction deletes, measured on the store's own clock
(LastModified of its files, never a worker's clock), with G = the grace period:

- the keeper K = the newest of the new snapshot's ancestors (its base, the base's base, ...) written at
  least G before it;
- segments K folded that the new snapshot folded too (so both contain them), and
- snapshots older than K, and unreadable snapshots written at least G before the new one.

K itself and everything after it stay: a torn newest snapshot then falls back to an older one whose
later segments still exist, and a reader that listed just before us usually finishes without a restart.
A segment is therefore deleted one compaction after it was folded, once G has passed.

Compactions are meant to run one at a time (one ingest run per pipeline). As a guard, nothing is deleted
when a snapshot newer than ours appears, or when the keeper's folded segments are not all in ours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from encord_provider.ledger.files import FORMAT_VERSION, LedgerCorruptError, write_file
from encord_provider.ledger.index import IndexBuilder, index_key, unfolded_segments
from encord_provider.ledger.names import SnapshotFile, new_snapshot_key, quarantine_key
from encord_provider.ledger.reader import (
    LedgerView,
    folded_by,
    list_segments,
    list_snapshots,
    read_file,
    read_header,
    read_view,
)
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import ObjectNotFoundError

log = logging.getLogger(__name__)


@dataclass
class Compaction:
    """What one compaction did."""

    snapshot: str | None = None  # key of the snapshot written (None: nothing to fold)
    folded: int = 0  # segments newly folded
    quarantined: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def compact(
    store: ObjectStore, prefix: str, grace_seconds: float, writer: str = "compact", defer_watermarks: int = 0
) -> Compaction:
    """`defer_watermarks`: leave up to that many unfolded segments unfolded while none holds a record
    (what no-op runs leave: a watermark each), so a no-op run does not rewrite the whole snapshot."""
    if _nothing_worth_folding(store, prefix, defer_watermarks):  # no record of the snapshot is read
        return Compaction()
    view = read_view(store, prefix)
    result = Compaction()
    new = view.unfolded
    if not new and not view.problems:
        return result
    result.quarantined = quarantine(store, prefix, [p.key for p in view.problems])
    result.snapshot = write_snapshot(store, prefix, view, writer)
    result.folded = len(new)
    result.deleted = collect_garbage(store, prefix, view, result.snapshot, grace_seconds)
    log.info(
        "compacted ledger %s: folded %d segments into %s, deleted %d superseded files",
        prefix, result.folded, result.snapshot, len(result.deleted),
    )  # fmt: skip
    return result


def _nothing_worth_folding(store: ObjectStore, prefix: str, defer_watermarks: int) -> bool:
    pending = unfolded_segments(store, prefix)
    if pending is None or len(pending) > defer_watermarks:
        return False
    try:
        return all(not read_file(store, s.key).records for s in pending)  # small files: watermarks only
    except (LedgerCorruptError, ObjectNotFoundError):
        return False  # compaction quarantines it / lists again


def write_snapshot(store: ObjectStore, prefix: str, view: LedgerView, writer: str) -> str:
    lamport = view.lamport + 1
    header = {
        "kind": "snapshot",
        "lamport": lamport,
        "base": view.snapshot.key if view.snapshot else None,
        "folded": sorted(view.folded_by_next_snapshot()),
        "writer": writer,
    }
    key = new_snapshot_key(prefix, lamport)
    index = IndexBuilder()
    rows = index.rows(view.records.rows())  # sorted by key, streamed
    write_file(store, key, header, rows, view.watermark, through=index.lines)
    if index.sorted:  # after the snapshot's PUT: a snapshot with an index is whole (index.py)
        full_header = {"v": FORMAT_VERSION, **header}
        store.write_bytes(
            index_key(prefix, key), index.dumps(key, full_header, view.watermark), "application/json"
        )
    return key


def quarantine(store: ObjectStore, prefix: str, keys: list[str]) -> list[str]:
    """Copy unreadable files aside (once) so a person can look at them after compaction deletes them."""
    copied = []
    for key in keys:
        target = quarantine_key(prefix, key)
        if store.exists(target):
            continue
        try:
            store.write_bytes(target, store.read_bytes(key), "application/x-ndjson")
        except ObjectNotFoundError:
            continue
        log.warning("copied unreadable ledger file %s to %s", store.uri(key), store.uri(target))
        copied.append(target)
    return copied


def collect_garbage(
    store: ObjectStore, prefix: str, view: LedgerView, new_key: str, grace_seconds: float
) -> list[str]:
    """Delete the files superseded at least `grace_seconds` ago (store clock); returns their keys.

    `view` is the read the new snapshot was built from: its snapshot is the new one's base, and the
    snapshots it found torn or corrupt are known unreadable.
    """
    snapshots = list_snapshots(store, prefix)
    if not snapshots or snapshots[0].key != new_key:
        log.warning("a snapshot newer than %s exists: another compaction ran; deleting nothing", new_key)
        return []
    cutoff = snapshots[0].last_modified - timedelta(seconds=grace_seconds)
    old_enough = [s for s in snapshots[1:] if s.last_modified <= cutoff]
    unreadable = {p.key for p in view.problems}
    doomed = [s.key for s in old_enough if s.key in unreadable]
    keeper = _keeper(store, view, cutoff)
    if keeper is not None:
        snapshot, folded = keeper
        segments = [s for s in list_segments(store, prefix) if s.name in folded]
        if any(s.name not in view.folded_by_next_snapshot() for s in segments):
            log.warning("%s folded segments that %s lacks; deleting nothing", snapshot.key, new_key)
            return []
        doomed += [s.key for s in old_enough if s.order() < snapshot.order()]
        doomed += [s.key for s in segments]
    deleted = _delete(store, list(dict.fromkeys(doomed)))
    _delete_quietly(store, [index_key(prefix, k) for k in deleted if k in {s.key for s in snapshots}])
    return deleted


def _delete(store: ObjectStore, keys: list[str]) -> list[str]:
    """Delete what can be deleted; a failure is only logged (the next compaction tries again)."""
    deleted = []
    for key in keys:
        try:
            store.delete(key)
        except Exception as err:  # housekeeping must not fail the run: nothing is lost by keeping a file
            log.warning(
                "could not delete superseded ledger file %s (%s); the next compaction retries",
                store.uri(key),
                err,
            )
            continue
        deleted.append(key)
    return deleted


def _delete_quietly(store: ObjectStore, keys: list[str]) -> None:
    """The indexes of deleted snapshots (a snapshot written before indexes has none)."""
    for key in keys:
        try:
            if store.exists(key):
                store.delete(key)
        except Exception as err:  # an orphaned index is never read: it names its snapshot
            log.warning("could not delete ledger index %s (%s)", store.uri(key), err)


def _keeper(
    store: ObjectStore, view: LedgerView, cutoff: datetime
) -> tuple[SnapshotFile, frozenset[str]] | None:
    """The keeper and the segments it folded: the newest snapshot written by `cutoff` among the new one's
    ancestors (its base, the base's base, ...). Each of those was read whole when it served as a base, so
    unlike a snapshot that was never read (it may be torn) it is a fallback readers can use."""
    listed = {s.key: s for s in view.snapshots}
    current, folded, header = view.snapshot, view.folded, view.snapshot_header
    try:
        while current is not None and current.last_modified > cutoff:
            current = listed.get(str(header.get("base") or ""))
            if current is None:
                return None
            header = read_header(store, current.key)
            folded = folded_by(header, current, view.segments)
    except (LedgerCorruptError, ObjectNotFoundError):
        return None
    return None if current is None else (current, folded)
