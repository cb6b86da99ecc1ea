"""The snapshot index (ledger/index.py): an opened ledger answers lookups from a few blocks, agrees with a
whole load on every key and state, and falls back to a whole read when the index cannot be trusted."""

from __future__ import annotations

from pathlib import Path

import pytest
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState
from encord_provider.ledger.index import index_key
from encord_provider.storage.local import LocalStore

PREFIX = "ledger/demo"


def _records(n: int, state: ObjectState = ObjectState.LINKED) -> list[LedgerRecord]:
    return [LedgerRecord(f"in/dt=2026-01-{i % 28 + 1:02d}/img_{i:06d}.jpg", f"e{i}", state) for i in range(n)]


class CountingStore(LocalStore):
    """A local store that counts the bytes read by range (what an opened ledger fetches)."""

    range_bytes = 0

    def read_range(self, key: str, start: int, length: int) -> bytes:
        data = super().read_range(key, start, length)
        self.range_bytes += len(data)
        return data


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    return CountingStore(tmp_path)


def _compacted(store: LocalStore, records: list[LedgerRecord]) -> Ledger:
    ledger = Ledger(store, PREFIX).scan()
    ledger.write(records)
    ledger.compact(0)
    return ledger


def test_an_opened_ledger_reads_only_the_blocks_of_the_keys_asked_for(store: CountingStore) -> None:
    records = _records(6_000)
    _compacted(store, records)
    snapshot_bytes = sum(p.stat().st_size for p in (store.root / PREFIX / "snapshots").iterdir())
    store.range_bytes = 0
    ledger = Ledger(store, PREFIX).open()
    assert ledger.get(records[5].key) == records[5]
    assert ledger.get("in/dt=2026-01-01/not-there.jpg") is None
    assert ledger.fetched_blocks <= 2
    assert store.range_bytes <= 3 * 64 * 1024 < snapshot_bytes / 3
    assert ledger.in_state(ObjectState.SUBMITTED) == []  # no block holds one: nothing fetched
    assert ledger.fetched_blocks <= 2


def test_an_opened_ledger_agrees_with_a_whole_load(store: CountingStore) -> None:
    records = _records(3_000)
    _compacted(store, records)
    later = Ledger(store, PREFIX).scan()
    later.write(
        [records[7].moved(ObjectState.SUBMITTED, upload_job_id="j"), *_records(1, ObjectState.FAILED)]
    )
    loaded, opened = Ledger(store, PREFIX).load(), Ledger(store, PREFIX).open()
    for record in records[:50]:  # segment rows win over the snapshot's
        assert opened.get(record.key) == loaded.get(record.key)
    assert [r.key for r in opened.in_state(ObjectState.SUBMITTED)] == [records[7].key]
    assert opened.counts() == loaded.counts()
    assert dict(opened.records.items()) == dict(loaded.records.items())


def test_writes_after_open_are_never_overridden_by_later_blocks(store: CountingStore) -> None:
    records = _records(2_000)
    _compacted(store, records)
    ledger = Ledger(store, PREFIX).open()
    ledger.write([records[1999].moved(ObjectState.FAILED, error="x")])  # its block is not fetched yet
    assert ledger.get(records[1999].key).state == ObjectState.FAILED  # type: ignore[union-attr]
    assert Ledger(store, PREFIX).open().get(records[1999].key).state == ObjectState.FAILED  # type: ignore[union-attr]


def test_a_changed_snapshot_falls_back_to_a_whole_read(
    store: CountingStore, caplog: pytest.LogCaptureFixture
) -> None:
    records = _records(2_000)
    _compacted(store, records)
    snapshot = next((store.root / PREFIX / "snapshots").iterdir())
    data = snapshot.read_bytes()
    snapshot.write_bytes(data.replace(b'"e5"', b'"E5"'))  # same size, other bytes
    ledger = Ledger(store, PREFIX).open()
    assert ledger.get(records[5].key) == Ledger(store, PREFIX).load().get(records[5].key)
    assert "differs from its index; reading the whole ledger" in caplog.text
    assert ledger.fetched_blocks == 0 and len(ledger.records) == 2_000


def test_without_an_index_open_reads_everything(store: CountingStore) -> None:
    records = _records(500)
    ledger = _compacted(store, records)
    snapshot = next((store.root / PREFIX / "snapshots").iterdir())
    store.delete(index_key(PREFIX, f"{PREFIX}/snapshots/{snapshot.name}"))
    opened = Ledger(store, PREFIX).open()
    assert opened.get(records[3].key) == records[3]
    assert len(opened.records) == len(ledger.scan().load().records) == 500


def test_compaction_deletes_the_index_of_a_deleted_snapshot(store: CountingStore) -> None:
    _compacted(store, _records(100))
    for round_ in range(3):
        ledger = Ledger(store, PREFIX).scan()
        ledger.write(_records(1, ObjectState.FAILED))
        ledger.compact(0)
        assert round_ >= 0
    snapshots = {p.name.removesuffix(".jsonl") for p in (store.root / PREFIX / "snapshots").iterdir()}
    indexes = {p.name.removesuffix(".json") for p in (store.root / PREFIX / "index").iterdir()}
    assert indexes == snapshots


def test_a_torn_snapshot_is_read_whole_as_every_other_reader_reads_it(store: CountingStore) -> None:
    records = _records(1_000)
    _compacted(store, records)
    snapshot = next((store.root / PREFIX / "snapshots").iterdir())
    snapshot.write_bytes(snapshot.read_bytes()[:-40])  # its blocks intact, the end line cut
    for segment in (store.root / PREFIX / "segments").iterdir():
        segment.unlink()
    opened, loaded = Ledger(store, PREFIX).open(), Ledger(store, PREFIX).load()
    assert opened.get(records[3].key) is None and loaded.get(records[3].key) is None  # the same view
    assert [p.kind for p in opened.problems] == ["torn"]
