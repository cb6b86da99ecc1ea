"""The snapshot index (ledger/index.py): an opened ledger answers lookups from a few blocks, agrees with a
whole load on every key and state, and falls back to a whole read when the index cannot be trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState, Watermark, compaction
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


def _mixed(n: int, run: str) -> list[LedgerRecord]:
    states = [ObjectState.LINKED, ObjectState.REGISTERED, ObjectState.DUPLICATE, ObjectState.FAILED]
    return [
        LedgerRecord(
            f"in/dt=2026-01-{i % 28 + 1:02d}/img_{i:06d}.jpg", f"e{i}", states[i % 97 % 4],
            item_uuid=f"u{i}", chunk=f"s3://st/runs/p/{run}/chunks/{i % 3}.json",
        )
        for i in range(n)
    ]  # fmt: skip


def _agree(store: CountingStore, run_uri: str) -> Ledger:
    loaded, opened = Ledger(store, PREFIX).load(), Ledger(store, PREFIX).open()
    linkable = (ObjectState.REGISTERED, ObjectState.DUPLICATE)
    assert opened.counts() == loaded.counts()
    assert opened.in_state(*linkable) == loaded.in_state(*linkable)
    assert list(opened.with_chunk_prefix(run_uri)) == list(loaded.records.with_chunk_prefix(run_uri))
    return opened


def test_totals_ready_items_and_a_runs_records_equal_a_whole_load(store: CountingStore) -> None:
    old = _mixed(4_000, "run-a")
    _compacted(store, old)
    opened = _agree(store, "s3://st/runs/p/run-b/")
    assert opened.fetched_blocks < 15  # counts come from the index; run-b's records from no block
    later = Ledger(store, PREFIX).scan()  # unfolded segments: state changes, a new key, this run's records
    later.write([old[3].moved(ObjectState.LINKED), old[10].moved(ObjectState.FAILED, error="x")])
    later.write([r.moved(ObjectState.REGISTERED) for r in _mixed(4_003, "run-b")[4_000:]])
    later.write([old[20].moved(ObjectState.REGISTERED, chunk="s3://st/runs/p/run-b/chunks/9.json")])
    opened = _agree(store, "s3://st/runs/p/run-b/")
    assert opened.counts()["registered"] == Ledger(store, PREFIX).load().counts()["registered"]
    Ledger(store, PREFIX).compact(0)  # run-b's records now in the snapshot: found through chunk ranges
    _agree(store, "s3://st/runs/p/run-b/")
    _agree(store, "s3://st/runs/p/run-a/")


def test_a_no_op_totals_read_no_block(store: CountingStore) -> None:
    _compacted(store, _mixed(3_000, "run-a"))
    store.range_bytes = 0
    opened = Ledger(store, PREFIX).open()
    assert sum(opened.counts().values()) == 3_000
    assert list(opened.with_chunk_prefix("s3://st/runs/p/run-z/")) == []
    assert opened.fetched_blocks == 0


def test_totals_fall_back_to_a_whole_read_when_a_block_changed(store: CountingStore) -> None:
    records = _mixed(3_000, "run-a")
    _compacted(store, records)
    Ledger(store, PREFIX).scan().write([records[0].moved(ObjectState.FAILED, error="x")])
    snapshot = next((store.root / PREFIX / "snapshots").iterdir())
    opened = Ledger(store, PREFIX).open()
    data = bytearray(snapshot.read_bytes())
    data[200] = ord("#") if data[200] != ord("#") else ord("$")  # block 0 no longer matches its digest
    snapshot.write_bytes(bytes(data))
    assert opened.counts() == Ledger(store, PREFIX).load().counts()


def test_an_index_without_stats_still_answers_counts(store: CountingStore) -> None:
    records = _mixed(2_000, "run-a")
    _compacted(store, records)
    key = next((store.root / PREFIX / "snapshots").iterdir()).name
    path = store.root / index_key(PREFIX, f"{PREFIX}/snapshots/{key}")
    body = json.loads(path.read_text())
    del body["stats"]  # as compaction wrote it before stats existed
    path.write_text(json.dumps(body))
    assert Ledger(store, PREFIX).open().counts() == Ledger(store, PREFIX).load().counts()


def test_compaction_with_nothing_to_fold_reads_no_record(
    store: CountingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _compacted(store, _records(2_000))
    whole_reads: list[str] = []
    read_view = compaction.read_view
    monkeypatch.setattr(compaction, "read_view", lambda s, p: whole_reads.append(p) or read_view(s, p))
    assert Ledger(store, PREFIX).compact(0).snapshot is None
    assert whole_reads == []
    Ledger(store, PREFIX).scan().write([], watermark=Watermark(last_modified="2026-01-02T00:00:00+00:00"))
    assert Ledger(store, PREFIX).compact(0).snapshot is not None  # a segment to fold: compacted
    assert whole_reads == [PREFIX]


def test_watermark_only_segments_are_folded_only_past_the_deferral(store: CountingStore) -> None:
    _compacted(store, _records(500))
    for day in range(1, 4):  # three no-op runs: a watermark segment each
        mark = Watermark(last_modified=f"2026-01-0{day}T00:00:00+00:00")
        Ledger(store, PREFIX).scan().write([], watermark=mark)
        assert Ledger(store, PREFIX).compact(0, defer_watermarks=3).snapshot is None
    assert Ledger(store, PREFIX).open().watermark.last_modified == "2026-01-03T00:00:00+00:00"
    Ledger(store, PREFIX).scan().write([], watermark=Watermark(last_modified="2026-01-04T00:00:00+00:00"))
    assert Ledger(store, PREFIX).compact(0, defer_watermarks=3).snapshot is not None  # a fourth: folded
    Ledger(store, PREFIX).scan().write(_records(1, ObjectState.FAILED))
    assert Ledger(store, PREFIX).compact(0, defer_watermarks=3).snapshot is not None  # a record: folded
