"""The ledger of one shard: its records in an on-disk table, files streamed in pieces (torn and corrupt
files still skipped whole), snapshots sorted and written through a local file, compaction per shard."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState, files, reader
from encord_provider.ledger.records import ROW_FIELDS
from encord_provider.ledger.table import RecordTable
from encord_provider.storage.local import LocalStore


def _records(n: int, state: ObjectState = ObjectState.PENDING, tag: str = "") -> list[LedgerRecord]:
    return [
        LedgerRecord(f"in/k{i:06d}.jpg", f"e{i}{tag}", state, chunk=f"s3://s/runs/r{tag}/c{i // 10}")
        for i in range(n)
    ]


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "staging")


def test_record_table_behaves_as_a_mapping() -> None:
    table = RecordTable(_records(5))
    assert len(table) == 5 and "in/k000003.jpg" in table and "nope" not in table
    assert table["in/k000001.jpg"].etag == "e1"
    table["in/k000001.jpg"] = table["in/k000001.jpg"].moved(ObjectState.LINKED, item_uuid="u")
    assert table.counts() == {"linked": 1, "pending": 4}
    assert [r.key for r in table.in_state([ObjectState.LINKED])] == ["in/k000001.jpg"]
    assert list(table) == sorted(table)  # key order
    del table["in/k000000.jpg"]
    with pytest.raises(KeyError):
        table["in/k000000.jpg"]
    assert table == {r.key: r for r in table.values()}


def test_to_json_matches_the_row_encoding() -> None:
    record = LedgerRecord("k", "", ObjectState.FAILED, error="x", attempts=2, entry="k")
    assert record.to_json() == files.row_json(record.to_row())
    assert list(record.to_json()) == ["key", "etag", "state", "error", "entry", "attempts", "updated_at"]
    assert LedgerRecord.from_json(record.to_json()) == record
    assert len(record.to_row()) == len(ROW_FIELDS)


def test_large_files_stream_in_pieces_and_spill_to_a_local_file(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "PIECE_BYTES", 1000)  # many pieces, lines cut across them
    monkeypatch.setattr(files, "SPILL_BYTES", 5000)
    spilled: list[str] = []
    write_file = store.write_file
    monkeypatch.setattr(
        store, "write_file", lambda key, path, ct=None: (spilled.append(key), write_file(key, path, ct))
    )
    ledger = Ledger(store, "ledger").load()
    ledger.write(_records(2000))
    assert spilled  # went through a local file, not one bytes object
    loaded = Ledger(store, "ledger").load()
    assert len(loaded.records) == 2000 and loaded.problems == []
    assert loaded.records["in/k001999.jpg"].chunk == "s3://s/runs/r/c199"
    snapshot = loaded.compact(grace_seconds=0).snapshot
    assert snapshot is not None
    lines = [json.loads(line) for line in store.read_bytes(snapshot).splitlines()]
    keys = [line["key"] for line in lines if "key" in line]
    assert keys == sorted(keys)  # a snapshot is sorted by key


def test_a_torn_large_segment_is_skipped_whole_with_a_warning(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(reader, "PIECE_BYTES", 700)
    ledger = Ledger(store, "ledger").load()
    ledger.write(_records(10, ObjectState.LINKED))
    key = ledger.write(_records(500, ObjectState.FAILED, tag="x"))
    assert key is not None
    path = store.root / key
    path.write_bytes(path.read_bytes()[:-4000])  # cut mid-line, far from the start
    with caplog.at_level(logging.WARNING):
        loaded = Ledger(store, "ledger").load()
    assert loaded.counts() == {"linked": 10}  # none of the torn batch's rows applied
    assert [p.kind for p in loaded.problems] == ["torn"]
    assert store.uri(key) in caplog.text


def test_a_corrupt_line_inside_a_large_snapshot_falls_back_to_the_older_one(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "PIECE_BYTES", 512)
    ledger = Ledger(store, "ledger").load()
    ledger.write(_records(50, ObjectState.REGISTERED))
    ledger.compact(grace_seconds=3600)
    ledger.write(_records(100, ObjectState.LINKED))
    newest = Ledger(store, "ledger").load().compact(grace_seconds=3600).snapshot
    assert newest is not None
    data = bytearray((store.root / newest).read_bytes())
    data[3000] = ord("{")  # a broken line with many after it: corrupt, not torn
    (store.root / newest).write_bytes(bytes(data))
    loaded = Ledger(store, "ledger").load()
    assert [p.kind for p in loaded.problems] == ["corrupt"]
    assert loaded.counts() == {"linked": 100}  # older snapshot + the segment after it, still kept


def test_shards_are_isolated_and_compacted_alone(store: LocalStore) -> None:
    a, b = Ledger(store, "ledger/shards/a").load(), Ledger(store, "ledger/shards/b").load()
    a.write(_records(20, ObjectState.LINKED))
    b.write(_records(5, ObjectState.PENDING))
    done = Ledger(store, "ledger/shards/a").load().compact(grace_seconds=0)
    assert done.snapshot is not None and done.snapshot.startswith("ledger/shards/a/")
    assert all(k.startswith("ledger/shards/a/") for k in done.deleted)
    assert Ledger(store, "ledger/shards/b").load().counts() == {"pending": 5}
    assert [r.key for r in store.list_objects("ledger/shards/b/snapshots/")] == []  # b untouched
    assert Ledger(store, "ledger/shards/a").load().counts() == {"linked": 20}
