"""Ledger durability: segments, lamport ordering, compaction, crash points, corrupt files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from encord_provider.ledger import Ledger, LedgerCorruptError, LedgerRecord, ObjectState, Watermark
from encord_provider.storage.records import ObjectRecord


class MemoryStore:
    """ObjectStore Protocol over a dict; counts reads so tests can check what a load touches."""

    scheme = "mem"
    bucket = "staging"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.reads: list[str] = []

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectRecord]:
        for key in sorted(self.objects):
            if key.startswith(prefix) and (start_after is None or key > start_after):
                yield ObjectRecord(self.uri(key), key, len(self.objects[key]), "e", datetime.now(UTC))

    def read_bytes(self, key: str) -> bytes:
        self.reads.append(key)
        return self.objects[key]

    def read_range(self, key: str, start: int, length: int) -> bytes:
        return self.objects[key][start : start + length]

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self.objects[key] = data

    def exists(self, key: str) -> bool:
        return key in self.objects

    def object_url(self, key: str) -> str:
        return self.uri(key)

    def uri(self, key: str) -> str:
        return f"mem://{self.bucket}/{key}"


class DeletingStore(MemoryStore):
    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


PREFIX = "staging/ledger/demo"


def _rec(key: str, state: ObjectState = ObjectState.PENDING, **kw: object) -> LedgerRecord:
    return LedgerRecord(key=key, etag=f"etag-{key}", state=state, **kw)  # type: ignore[arg-type]


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


def test_later_write_wins_even_if_its_clock_is_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    first = Ledger(store, PREFIX).load()
    first.write([_rec("a.jpg", ObjectState.REGISTERED, item_uuid="u1")])
    # A second worker whose clock is an hour behind opens the ledger and links the item.
    import encord_provider.ledger.ledger as module

    real_ns = module.time.time_ns
    monkeypatch.setattr(module.time, "time_ns", lambda: real_ns() - 3600 * 10**9)
    Ledger(store, PREFIX).scan().write([_rec("a.jpg", ObjectState.LINKED, item_uuid="u1")])
    monkeypatch.undo()
    assert Ledger(store, PREFIX).load().get("a.jpg").state == ObjectState.LINKED  # type: ignore[union-attr]


def test_empty_write_writes_nothing() -> None:
    store = MemoryStore()
    assert Ledger(store, PREFIX).load().write([]) is None
    assert store.objects == {}


def test_compaction_folds_segments_and_load_reads_only_snapshot() -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    for i in range(5):
        ledger.write([_rec(f"k{i}.jpg", ObjectState.REGISTERED, item_uuid=f"u{i}")], writer=f"t{i}")
    ledger.write([_rec("k0.jpg", ObjectState.LINKED, item_uuid="u0")], watermark=Watermark("lm", "la", "r"))
    snapshot = ledger.compact(grace_seconds=0)
    assert snapshot is not None and "/snapshots/" in snapshot

    store.reads.clear()
    loaded = Ledger(store, PREFIX).load()
    assert store.reads == [snapshot]
    assert loaded.get("k0.jpg").state == ObjectState.LINKED  # type: ignore[union-attr]
    assert loaded.counts() == {"linked": 1, "registered": 4}
    assert loaded.watermark == Watermark("lm", "la", "r")
    # Writers after the compaction sort after it and are read on top of the snapshot.
    loaded.write([_rec("k1.jpg", ObjectState.LINKED, item_uuid="u1")])
    assert Ledger(store, PREFIX).load().counts() == {"linked": 2, "registered": 3}


def test_compaction_grace_keeps_young_segments_out() -> None:
    store = MemoryStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("a.jpg")])
    assert ledger.compact(grace_seconds=3600) is None
    assert Ledger(store, PREFIX).load().get("a.jpg") is not None


def test_second_compaction_builds_on_the_first_and_deletes_when_possible() -> None:
    store = DeletingStore()
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_rec("a.jpg", ObjectState.REGISTERED, item_uuid="u")])
    first = ledger.compact(grace_seconds=0)
    ledger.write([_rec("b.jpg", ObjectState.FAILED, error="x")])
    second = ledger.compact(grace_seconds=0)
    assert first not in store.objects and second in store.objects
    assert [k for k in store.objects if "/segments/" in k] == []
    assert Ledger(store, PREFIX).load().counts() == {"registered": 1, "failed": 1}


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


def test_corrupt_segment_names_file_and_line() -> None:
    store = MemoryStore()
    Ledger(store, PREFIX).load().write([_rec("a.jpg")])
    key = next(iter(store.objects))
    store.objects[key] += b"{not json\n"
    with pytest.raises(LedgerCorruptError, match=r"mem://staging/.*\.jsonl:3"):
        Ledger(store, PREFIX).load()


def test_unrelated_files_under_prefix_are_ignored() -> None:
    store = MemoryStore()
    store.objects[f"{PREFIX}/segments/README.txt"] = b"hello"
    Ledger(store, PREFIX).load().write([_rec("a.jpg")])
    assert Ledger(store, PREFIX).load().counts() == {"pending": 1}


def test_pipelines_do_not_see_each_other() -> None:
    store = MemoryStore()
    Ledger(store, "staging/ledger/one").load().write([_rec("a.jpg")])
    assert Ledger(store, "staging/ledger/on").load().records == {}
    assert Ledger(store, "staging/ledger/one").load().counts() == {"pending": 1}
