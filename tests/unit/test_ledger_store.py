"""Ledger durability without Airflow: segments, ordering without wall clocks, compaction and deletion,
concurrent writers and readers, torn and corrupt files, the first format's files."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState, Watermark, needs_submission
from encord_provider.ledger.files import (
    CorruptFileError,
    TornFileError,
    decode_file,
    encode_file,
)
from encord_provider.storage.errors import ObjectNotFoundError
from encord_provider.storage.records import ObjectRecord

PREFIX = "staging/ledger/demo"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class MemoryStore:
    """The ObjectStore protocol over a dict, with its own clock (LastModified is set from `clock` on
    every write, the way a bucket stamps objects) and a hook called after every listing."""

    scheme = "mem"
    bucket = "staging"

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, datetime]] = {}
        self.clock = T0
        self.reads: list[str] = []
        self.before_list: Callable[[str], None] | None = None
        self.after_list: Callable[[str], None] | None = None

    def tick(self, seconds: float) -> None:
        self.clock += timedelta(seconds=seconds)

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectRecord]:
        if self.before_list is not None:
            self.before_list(prefix)
        listed = [
            ObjectRecord(self.uri(key), key, len(data), "e", modified)
            for key, (data, modified) in sorted(self.objects.items())
            if key.startswith(prefix) and (start_after is None or key > start_after)
        ]
        if self.after_list is not None:
            self.after_list(prefix)
        yield from listed

    def read_bytes(self, key: str) -> bytes:
        self.reads.append(key)
        if key not in self.objects:
            raise ObjectNotFoundError(self.uri(key))
        return self.objects[key][0]

    def read_range(self, key: str, start: int, length: int) -> bytes:
        return self.read_bytes(key)[start : start + length]

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self.objects[key] = (bytes(data), self.clock)

    def exists(self, key: str) -> bool:
        return key in self.objects

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def object_url(self, key: str) -> str:
        return self.uri(key)

    def uri(self, key: str) -> str:
        return f"mem://{self.bucket}/{key}"

    def keys(self, folder: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(f"{PREFIX}/{folder}/"))

    def truncate(self, key: str, keep: int) -> None:
        data, modified = self.objects[key]
        self.objects[key] = (data[:keep], modified)


def _rec(key: str, state: ObjectState = ObjectState.PENDING, **kw: object) -> LedgerRecord:
    return LedgerRecord(key=key, etag=f"etag-{key}", state=state, **kw)  # type: ignore[arg-type]


def _states(store: MemoryStore) -> dict[str, str]:
    return {k: str(r.state) for k, r in Ledger(store, PREFIX).load().records.items()}


@pytest.fixture
def clock_behind(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Set this process's wall clock `seconds` behind (time.time / time.time_ns and the record stamps)."""
    import encord_provider.ledger.records as records

    real_time, real_ns, real_now = time.time, time.time_ns, records.utc_now

    def behind(seconds: float) -> None:
        monkeypatch.setattr(time, "time", lambda: real_time() - seconds)
        monkeypatch.setattr(time, "time_ns", lambda: real_ns() - int(seconds * 1e9))
        shifted = (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="milliseconds")
        monkeypatch.setattr(records, "utc_now", lambda: shifted)

    assert real_now  # restored by monkeypatch at teardown
    return behind


# -- writing and reading ---------------------------------------------------------------------------


def test_write_then_load_round_trips_records_and_watermark() -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("a.jpg"), _rec("b.jpg", ObjectState.FAILED, error="boom", attempts=1)])
    ledger.write([], watermark=Watermark("2026-01-01T00:00:00+00:00", "x", "run1"))

    again = Ledger(store, PREFIX).load()
    assert again.get("a.jpg") == ledger.get("a.jpg")
    assert again.get("b.jpg").error == "boom" and again.get("b.jpg").attempts == 1  # type: ignore[union-attr]
    assert again.watermark.run_id == "run1"
    assert again.counts() == {"pending": 1, "failed": 1}
    assert again.problems == []


def test_empty_write_writes_nothing() -> None:
    store = MemoryStore()
    assert Ledger(store, PREFIX).load().write([]) is None
    assert store.objects == {}


def test_every_file_ends_with_an_end_line_counting_its_lines() -> None:
    data = encode_file({"kind": "segment", "lamport": 3}, [_rec("a.jpg")], Watermark("x"))
    lines = data.decode().splitlines()
    assert data.endswith(b"\n") and lines[-1] == '{"end":{"lines":3}}'
    decoded = decode_file(data, "mem://f")
    assert decoded.header["lamport"] == 3 and [r.key for r in decoded.records] == ["a.jpg"]


# -- ordering without wall clocks ------------------------------------------------------------------


def test_a_causally_later_write_wins_whatever_the_writers_clock(
    clock_behind: Callable[[float], None],
) -> None:
    store = MemoryStore()
    Ledger(store, PREFIX).load().write([_rec("a.jpg", ObjectState.REGISTERED, item_uuid="u1")])
    clock_behind(3600)  # the next worker's clock is an hour behind; the bucket's is not
    Ledger(store, PREFIX).scan().write([_rec("a.jpg", ObjectState.LINKED, item_uuid="u1")])
    assert _states(store) == {"a.jpg": "linked"}


def test_a_worker_300s_behind_is_never_skipped_around_compactions(
    clock_behind: Callable[[float], None],
) -> None:
    """The old ledger named segments by the writer's clock and skipped those before a snapshot's time."""
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("old.jpg", ObjectState.LINKED, item_uuid="u0")])
    ledger.compact(grace_seconds=0)
    stale = Ledger(store, PREFIX).scan()  # a register task opened the ledger before the next compaction
    store.tick(5)
    clock_behind(300)
    Ledger(store, PREFIX).scan().write([_rec("fresh.jpg", ObjectState.REGISTERED, item_uuid="u1")])
    Ledger(store, PREFIX).load().compact(grace_seconds=0)
    store.tick(5)
    stale.write([_rec("late.jpg", ObjectState.REGISTERED, item_uuid="u2")])  # lands after that compaction
    assert _states(store) == {"old.jpg": "linked", "fresh.jpg": "registered", "late.jpg": "registered"}
    Ledger(store, PREFIX).compact(grace_seconds=0)
    assert _states(store) == {"old.jpg": "linked", "fresh.jpg": "registered", "late.jpg": "registered"}


def test_writers_learn_the_lamport_number_from_snapshots_once_segments_are_gone() -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    for i in range(3):
        ledger.write([_rec("a.jpg", ObjectState.FAILED, attempts=i)])
    ledger.compact(grace_seconds=0)
    store.tick(1)
    ledger.write([], watermark=Watermark("w"))
    ledger.compact(grace_seconds=0)  # deletes what the first snapshot folded
    Ledger(store, PREFIX).load().compact(grace_seconds=0)  # nothing new: deletes nothing more
    assert len(store.keys("segments")) == 1
    key = Ledger(store, PREFIX).scan().write([_rec("a.jpg", ObjectState.LINKED, item_uuid="u")])
    assert key is not None
    snapshot_lamport = int(store.keys("snapshots")[-1].rpartition("/")[2][:12])
    assert int(key.rpartition("/")[2][:12]) > snapshot_lamport
    assert _states(store) == {"a.jpg": "linked"}


# -- compaction and deletion -----------------------------------------------------------------------


def test_compaction_folds_every_segment_and_load_then_reads_the_snapshot_only() -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    for i in range(5):
        ledger.write([_rec(f"k{i}.jpg", ObjectState.REGISTERED, item_uuid=f"u{i}")], writer=f"t{i}")
    ledger.write([_rec("k0.jpg", ObjectState.LINKED, item_uuid="u0")], watermark=Watermark("lm", "la", "r"))
    done = ledger.compact()  # default grace: a segment written a moment ago is folded all the same
    assert done.snapshot is not None and "/snapshots/" in done.snapshot and done.folded == 6

    store.reads.clear()
    loaded = Ledger(store, PREFIX).load()
    assert store.reads == [done.snapshot]
    assert loaded.counts() == {"linked": 1, "registered": 4}
    assert loaded.watermark == Watermark("lm", "la", "r")
    loaded.write([_rec("k1.jpg", ObjectState.LINKED, item_uuid="u1")])
    assert Ledger(store, PREFIX).load().counts() == {"linked": 2, "registered": 3}
    assert Ledger(store, PREFIX).compact().snapshot is not None
    assert Ledger(store, PREFIX).compact().snapshot is None  # nothing new to fold


def test_superseded_files_are_deleted_once_the_grace_has_passed_on_the_stores_clock() -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()

    def run(n: int) -> list[str]:
        ledger.write([_rec(f"run{n}.jpg", ObjectState.LINKED, item_uuid=f"u{n}")])
        return ledger.compact(grace_seconds=120).deleted

    assert run(1) == [] and run(2) == []  # young: a reader that listed a moment ago still finds its files
    store.tick(60)
    assert run(3) == []
    store.tick(120)
    deleted = run(4)  # snapshot 3 is the newest 120 s old: what it folded, and older snapshots, go
    assert len([k for k in deleted if "/segments/" in k]) == 3
    assert len([k for k in deleted if "/snapshots/" in k]) == 2
    assert len(store.keys("segments")) == 1 and len(store.keys("snapshots")) == 2
    assert _states(store) == {f"run{n}.jpg": "linked" for n in range(1, 5)}
    for n in range(5, 40):  # nightly runs: staging stays small
        store.tick(24 * 3600)
        run(n)
    assert len(store.keys("segments")) == 1 and len(store.keys("snapshots")) == 2
    assert len(_states(store)) == 39


def test_a_segment_put_while_compaction_runs_is_neither_skipped_nor_deleted() -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("a.jpg", ObjectState.LINKED, item_uuid="u1")])
    ledger.compact(grace_seconds=0)
    writer = Ledger(store, PREFIX).scan()  # opened the ledger before the compaction below
    ledger.write([_rec("b.jpg", ObjectState.LINKED, item_uuid="u2")])
    late: list[str] = []

    def concurrent_put(prefix: str) -> None:
        if prefix.endswith("/segments/") and not late:  # right after compaction listed the segments
            late.append(writer.write([_rec("c.jpg", ObjectState.REGISTERED, item_uuid="u3")]) or "")

    store.after_list = concurrent_put
    store.tick(1)
    done = Ledger(store, PREFIX).compact(grace_seconds=0)
    store.after_list = None
    assert done.snapshot and late[0] in store.objects and late[0] not in done.deleted
    assert _states(store) == {"a.jpg": "linked", "b.jpg": "linked", "c.jpg": "registered"}
    store.tick(1)
    Ledger(store, PREFIX).compact(grace_seconds=0)
    store.tick(1)
    Ledger(store, PREFIX).scan().write([_rec("d.jpg")])
    assert late[0] in Ledger(store, PREFIX).compact(grace_seconds=0).deleted  # folded first, then deleted
    assert _states(store) == {"a.jpg": "linked", "b.jpg": "linked", "c.jpg": "registered", "d.jpg": "pending"}


def test_a_reader_whose_files_are_deleted_under_it_reads_again() -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("a.jpg", ObjectState.LINKED, item_uuid="u1")])
    ledger.compact(grace_seconds=0)
    ledger.write([_rec("b.jpg", ObjectState.LINKED, item_uuid="u2")])
    compactions: list[object] = []

    def compact_under_the_reader(prefix: str) -> None:
        if prefix.endswith("/snapshots/") and not compactions:  # the reader has listed everything
            compactions.append(None)
            store.tick(1)
            compactions.append(Ledger(store, PREFIX).compact(grace_seconds=0))

    store.after_list = compact_under_the_reader
    store.tick(1)
    loaded = Ledger(store, PREFIX).load()
    assert compactions[1].deleted  # type: ignore[attr-defined]  # it deleted files the reader had listed
    assert {k: str(r.state) for k, r in loaded.records.items()} == {"a.jpg": "linked", "b.jpg": "linked"}


def test_compaction_deletes_nothing_when_another_compaction_wrote_a_newer_snapshot() -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("a.jpg")])
    ledger.compact(grace_seconds=0)
    ledger.write([_rec("b.jpg")])
    rival: list[object] = []

    def rival_compaction(prefix: str) -> None:
        """A second run's finalize, between our snapshot's PUT and our look before deleting."""
        if prefix.endswith("/snapshots/") and not rival and len(store.keys("snapshots")) == 2:
            rival.append(None)
            Ledger(store, PREFIX).scan().write([_rec("c.jpg")])
            rival.append(Ledger(store, PREFIX).compact(grace_seconds=0))

    store.tick(1)
    store.before_list = rival_compaction
    ours = Ledger(store, PREFIX).compact(grace_seconds=0)
    store.before_list = None
    assert ours.snapshot and rival[1].snapshot and ours.deleted == []  # type: ignore[attr-defined]
    assert _states(store) == {"a.jpg": "pending", "b.jpg": "pending", "c.jpg": "pending"}


# -- torn and corrupt files ------------------------------------------------------------------------


def _segment_with(store: MemoryStore, key: str) -> str:
    return next(k for k in store.keys("segments") if f'"key":"{key}"'.encode() in store.objects[k][0])


def test_a_torn_segment_is_skipped_with_a_warning_and_its_batch_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("a.jpg", ObjectState.SUBMITTED, upload_job_id="j1")])
    ledger.write([_rec("a.jpg", ObjectState.REGISTERED, item_uuid="u"), _rec("b.jpg", ObjectState.REJECTED)])
    torn = _segment_with(store, "b.jpg")
    store.truncate(torn, len(store.objects[torn][0]) - 7)  # a crash mid-write: the last line is cut

    with caplog.at_level(logging.WARNING, logger="encord_provider.ledger"):
        loaded = Ledger(store, PREFIX).load()
    assert f"mem://staging/{torn}" in caplog.text and "torn" in caplog.text
    assert [(p.key, p.kind) for p in loaded.problems] == [(torn, "torn")]
    a = loaded.get("a.jpg")
    assert a is not None and a.state == ObjectState.SUBMITTED  # the whole batch is lost, not half of it
    assert loaded.get("b.jpg") is None and needs_submission(None, "etag-b.jpg")

    done = loaded.compact()
    assert done.quarantined == [f"{PREFIX}/quarantine/segments/{torn.rpartition('/')[2]}"]
    assert Ledger(store, PREFIX).load().problems == []  # folded: later runs are quiet


def test_a_segment_cut_at_a_line_boundary_is_torn_too() -> None:
    store = MemoryStore()
    Ledger(store, PREFIX).load().write([_rec("a.jpg"), _rec("b.jpg")])
    key = store.keys("segments")[0]
    data = store.objects[key][0]
    store.truncate(key, data.rindex(b"\n", 0, len(data) - 1) + 1)  # drop the end line only
    loaded = Ledger(store, PREFIX).load()
    assert loaded.records == {} and [p.kind for p in loaded.problems] == ["torn"]


def test_a_torn_snapshot_falls_back_to_the_older_one_and_the_segments_kept_after_it() -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("a.jpg", ObjectState.LINKED, item_uuid="u1")])
    ledger.compact()
    ledger.write([_rec("b.jpg", ObjectState.LINKED, item_uuid="u2")], watermark=Watermark("w2"))
    newest = ledger.compact().snapshot
    assert newest is not None
    store.truncate(newest, len(store.objects[newest][0]) // 2)

    loaded = Ledger(store, PREFIX).load()
    assert [(p.key, p.kind) for p in loaded.problems] == [(newest, "torn")]
    assert loaded.counts() == {"linked": 2} and loaded.watermark.last_modified == "w2"
    store.tick(200)
    loaded.write([_rec("c.jpg")])
    done = loaded.compact()
    assert newest in done.quarantined[0] or done.quarantined[0].endswith(newest.rpartition("/")[2])
    assert newest in done.deleted
    assert _states(store) == {"a.jpg": "linked", "b.jpg": "linked", "c.jpg": "pending"}


def test_a_torn_snapshot_is_never_the_fallback_that_deletion_keeps() -> None:
    """Deletion keeps the newest old-enough snapshot of the new one's ancestry; a torn snapshot, even with
    a readable header, was never a base, so it never takes that place."""
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()

    def run(name: str, after: float) -> list[str]:
        store.tick(after)
        ledger.write([_rec(name, ObjectState.LINKED, item_uuid=f"u-{name}")])
        return ledger.compact(grace_seconds=120).deleted

    run("a.jpg", 0)
    first = store.keys("snapshots")[0]
    run("b.jpg", 10)
    torn = store.keys("snapshots")[-1]
    store.truncate(torn, len(store.objects[torn][0]) - 3)  # its header still reads
    assert run("c.jpg", 90) == []  # reads past the torn one; everything is younger than the grace
    deleted = run("d.jpg", 100)
    assert first in store.objects and torn in store.objects  # the ancestor kept, not the torn one
    assert not [k for k in deleted if "/snapshots/" in k]
    later = run("e.jpg", 300)  # now the previous run's snapshot is old enough: older ones all go
    assert first in later and torn in later
    assert _states(store) == {f"{n}.jpg": "linked" for n in "abcde"}


def test_with_nothing_left_to_fall_back_to_the_objects_are_simply_retried() -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("a.jpg", ObjectState.LINKED, item_uuid="u1")])
    snapshot = ledger.compact().snapshot
    assert snapshot is not None
    for key in store.keys("segments"):
        store.delete(key)
    store.truncate(snapshot, 10)
    loaded = Ledger(store, PREFIX).load()
    assert loaded.records == {} and [p.kind for p in loaded.problems] == ["torn"]
    assert needs_submission(loaded.get("a.jpg"), "etag-a.jpg")  # re-planned; Encord skips the duplicate URL


def test_corruption_inside_a_file_is_skipped_loudly_naming_file_and_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("a.jpg", ObjectState.LINKED, item_uuid="u")])
    ledger.write([_rec("b.jpg"), _rec("c.jpg")])
    key = _segment_with(store, "b.jpg")
    lines = store.objects[key][0].split(b"\n")
    lines[1] = b'{"key": "b.jpg", "state": "no-such-state"}'
    store.objects[key] = (b"\n".join(lines), store.clock)

    with caplog.at_level(logging.ERROR, logger="encord_provider.ledger"):
        loaded = Ledger(store, PREFIX).load()
    assert f"mem://staging/{key}:2" in caplog.text and "corrupt" in caplog.text
    assert [(p.kind, p.line) for p in loaded.problems] == [("corrupt", 2)]
    assert loaded.counts() == {"linked": 1}


@pytest.mark.parametrize(
    ("damage", "error", "line"),
    [
        (lambda d: d[:-1], TornFileError, 4),  # no newline after the end line
        (lambda d: d + b'{"key":"c.jpg","state":"pending"}\n', CorruptFileError, 5),  # after the end line
        (lambda d: d.replace(b'"lines":3', b'"lines":9'), CorruptFileError, 4),
        (lambda d: d.replace(b'"key":"a.jpg"', b'"key":"a.jpg'), CorruptFileError, 2),
        (lambda d: b"", TornFileError, None),
        (lambda d: d.split(b"\n", 1)[1], CorruptFileError, 1),  # no header
    ],
)
def test_decode_tells_torn_from_corrupt(
    damage: Callable[[bytes], bytes], error: type[Exception], line: int | None
) -> None:
    data = encode_file({"kind": "segment", "lamport": 1}, [_rec("a.jpg"), _rec("b.jpg")])
    with pytest.raises(error) as caught:
        decode_file(damage(data), "mem://f.jsonl")
    assert caught.value.line == line  # type: ignore[attr-defined]
    assert str(caught.value).startswith("mem://f.jsonl")


# -- the first ledger format -----------------------------------------------------------------------


def test_files_of_the_first_format_are_read_and_then_replaced() -> None:
    store = MemoryStore()
    old_segment = f"{PREFIX}/segments/000000000001-{1_700_000_000_000_000_000:020d}-0123abcd.jsonl"
    stale_segment = f"{PREFIX}/segments/000000000002-{1_600_000_000_000_000_000:020d}-0123abce.jsonl"
    newer_segment = f"{PREFIX}/segments/000000000003-{1_800_000_000_000_000_000:020d}-0123abcf.jsonl"
    old_snapshot = f"{PREFIX}/snapshots/{1_750_000_000_000_000_000:020d}-89abcdef.jsonl"
    header = b'{"header":{"v":1,"lamport":%d}}\n'
    store.write_bytes(old_segment, header % 1 + b'{"key":"a.jpg","etag":"e","state":"pending"}\n')
    store.write_bytes(stale_segment, header % 2 + b'{"key":"a.jpg","etag":"e","state":"failed"}\n')
    store.write_bytes(old_snapshot, header % 2 + b'{"key":"a.jpg","etag":"e","state":"registered"}\n')
    store.write_bytes(newer_segment, header % 3 + b'{"key":"b.jpg","etag":"e","state":"pending"}\n')
    assert _states(store) == {"a.jpg": "registered", "b.jpg": "pending"}

    store.tick(1)
    deleted = Ledger(store, PREFIX).compact(grace_seconds=0).deleted
    store.tick(1)
    Ledger(store, PREFIX).scan().write([_rec("c.jpg")])
    deleted += Ledger(store, PREFIX).compact(grace_seconds=0).deleted
    assert {old_segment, stale_segment, newer_segment, old_snapshot} <= set(deleted)
    assert _states(store) == {"a.jpg": "registered", "b.jpg": "pending", "c.jpg": "pending"}


# -- housekeeping ----------------------------------------------------------------------------------


def test_crash_between_segment_writes_keeps_the_first_batch() -> None:
    """A writer dying after its first PUT leaves a readable ledger with that batch only."""

    class CrashingStore(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.budget = 1

        def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
            if self.budget == 0:
                raise ConnectionError("worker died")
            self.budget -= 1
            super().write_bytes(key, data, content_type)

    store = CrashingStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("a.jpg", ObjectState.SUBMITTED, upload_job_id="j1")])
    with pytest.raises(ConnectionError):
        ledger.write([_rec("a.jpg", ObjectState.REGISTERED, item_uuid="u")])
    reloaded = Ledger(store, PREFIX).load().get("a.jpg")
    assert reloaded is not None and reloaded.state == ObjectState.SUBMITTED and reloaded.upload_job_id == "j1"


def test_unrelated_files_under_prefix_are_ignored() -> None:
    store = MemoryStore()
    store.write_bytes(f"{PREFIX}/segments/README.txt", b"hello")
    store.write_bytes(f"{PREFIX}/snapshots/notes.jsonl", b"hello")
    Ledger(store, PREFIX).load().write([_rec("a.jpg")])
    assert Ledger(store, PREFIX).load().counts() == {"pending": 1}


def test_pipelines_do_not_see_each_other() -> None:
    store = MemoryStore()
    Ledger(store, "staging/ledger/one").load().write([_rec("a.jpg")])
    assert Ledger(store, "staging/ledger/on").load().records == {}
    assert Ledger(store, "staging/ledger/one").load().counts() == {"pending": 1}


def test_a_failed_delete_only_postpones_the_cleanup() -> None:
    class NoDeleteStore(MemoryStore):
        allowed = False

        def delete(self, key: str) -> None:
            if not self.allowed:
                raise PermissionError(f"AccessDenied: {key}")
            super().delete(key)

    store = NoDeleteStore()
    ledger = Ledger(store, PREFIX).load()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        ledger.write([_rec(name)])
        assert ledger.compact(grace_seconds=0).deleted == []
    store.allowed = True
    ledger.write([_rec("d.jpg")])
    assert len(ledger.compact(grace_seconds=0).deleted) == 5  # a, b, c's segments, two old snapshots
    assert _states(store) == {n: "pending" for n in ("a.jpg", "b.jpg", "c.jpg", "d.jpg")}
