"""Shards without Airflow: assignment of keys to shards, groups and register batches under Airflow's
`max_map_length`, planning one shard against its own ledger, and the split of an unsharded ledger."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from encord_provider.config.ingest import MAX_MAP_LENGTH, IngestPipeline
from encord_provider.ingest.batches import ChunkRef, group_chunks, read_batch, write_batches
from encord_provider.ingest.ledger_split import current_ledger_prefixes, split_ledger
from encord_provider.ingest.plan import RunOptions, plan_run
from encord_provider.ingest.shards import (
    ROOT_SHARD,
    declared_shards,
    hash_slot,
    layout_of,
    pipeline_ledger_prefix,
    prefix_shard_id,
    shard_groups,
    shard_ledger_prefix,
)
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState, Watermark
from encord_provider.storage.local import LocalStore
from pydantic import ValidationError

from tests.unit.ingest_fakes import pipeline, staging

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def _sharded(tmp_path: Path, **shards: object) -> IngestPipeline:
    return pipeline(tmp_path, shards=shards)


# -- assignment ------------------------------------------------------------------------------------


def test_hash_shards_cover_every_key_exactly_once_and_evenly(tmp_path: Path) -> None:
    config = _sharded(tmp_path, hash=16, hash_by="key")
    shards = declared_shards(config)
    keys = [f"in/d{i % 50}/img-{i}.jpg" for i in range(16_000)]
    owners = Counter(sum(1 for s in shards if s.contains(k)) for k in keys)
    assert owners == {1: len(keys)}  # each key in exactly one shard
    per_shard = Counter(layout_of(config).assign(k) for k in keys)
    assert len(per_shard) == 16 and min(per_shard.values()) > 800  # ~1,000 each
    assert {layout_of(config).assign(k) for k in keys} == {s.id for s in shards}


def test_hash_by_folder_keeps_a_folder_and_its_sidecars_in_one_shard(tmp_path: Path) -> None:
    config = _sharded(tmp_path, hash=8)
    layout = layout_of(config)
    folder = [f"in/walk/frame{i}.jpg" for i in range(30)] + ["in/walk/frame1.jpg.encord.json"]
    assert len({layout.assign(k) for k in folder}) == 1
    keyed = layout_of(_sharded(tmp_path, hash=8, hash_by="key"))
    assert keyed.assign("in/a.jpg.encord.json") == keyed.assign("in/a.jpg")


def test_hash_ranges_split_in_two_when_the_count_doubles() -> None:
    for i in range(2000):
        key = f"k{i}"
        assert hash_slot(key, 32) // 2 == hash_slot(key, 16)


def test_prefix_shards_and_keys_outside_them(tmp_path: Path) -> None:
    config = _sharded(tmp_path, prefixes=["dt=2026-01-01/", "dt=2026-01-02/"])
    shards = declared_shards(config)
    assert [s.prefix for s in shards] == ["in/dt=2026-01-01/", "in/dt=2026-01-02/"]
    layout = layout_of(config)
    assert layout.assign("in/dt=2026-01-02/x.jpg") == prefix_shard_id("dt=2026-01-02/") == shards[1].id
    assert layout.assign("in/dt=2026-01-03/x.jpg") is None
    assert layout.assign("elsewhere/x.jpg") is None


def test_derived_shards_from_the_first_level_with_a_pattern(tmp_path: Path) -> None:
    config = _sharded(tmp_path, derive="first_level", match="dt=*/")
    shards = declared_shards(config, ["dt=2026-01-02/", "dt=2026-01-01/", "tmp/"])
    assert [s.id for s in shards] == [
        ROOT_SHARD,
        prefix_shard_id("dt=2026-01-01/"),
        prefix_shard_id("dt=2026-01-02/"),
    ]
    root = shards[0]
    assert root.contains("in/top.jpg") and not root.contains("in/dt=2026-01-01/a.jpg")
    layout = layout_of(config)
    assert layout.assign("in/top.jpg") == ROOT_SHARD
    assert layout.assign("in/dt=2026-01-01/a/b.jpg") == shards[1].id
    assert layout.assign("in/tmp/x.jpg") is None


@pytest.mark.parametrize(
    "shards",
    [
        {"hash": 4, "prefixes": ["a/"]},
        {"hash": 0},
        {"hash": 2000},
        {"match": "x*"},
        {"prefixes": ["a/", "a/b/"]},
    ],
)
def test_invalid_shard_configs_are_rejected(tmp_path: Path, shards: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _sharded(tmp_path, **shards)


def test_an_existing_config_has_one_implicit_shard_in_the_old_ledger(tmp_path: Path) -> None:
    config = pipeline(tmp_path)
    assert [s.id for s in declared_shards(config)] == ["all"]
    assert shard_ledger_prefix(config, "all") == pipeline_ledger_prefix(config) == "base/ledger/unit"


# -- groups and batches under max_map_length --------------------------------------------------------


def test_shard_groups_never_exceed_the_map_limit() -> None:
    shards = declared_shards(
        pipeline(Path("/x"), shards={"derive": "first_level"}), [f"d{i}/" for i in range(3000)]
    )
    groups = shard_groups(shards)
    assert len(groups) == MAX_MAP_LENGTH
    assert (
        sum(len(g) for g in groups) == 3001 and max(len(g) for g in groups) - min(len(g) for g in groups) <= 1
    )


@pytest.mark.parametrize(
    ("chunks", "budget"), [(5000, 1024), (1_000_000 // 1000 * 10, 1024), (3, 1024), (100, 64)]
)
def test_batches_stay_within_the_budget(chunks: int, budget: int) -> None:
    refs = [ChunkRef(f"s3://s/c{i}.plan.json", "ledger", 1000) for i in range(chunks)]
    batches = group_chunks(refs, budget)
    assert len(batches) <= budget
    assert [c for b in batches for c in b] == refs  # every chunk once, in order
    assert len(batches) == math.ceil(chunks / math.ceil(chunks / budget))
    assert max(len(b) for b in batches) == math.ceil(chunks / budget)


def test_small_chunks_share_a_register_task() -> None:
    refs = [ChunkRef(f"c{i}", "ledger", 5) for i in range(100)]
    batches = group_chunks(refs, 1024, min_entries=200)
    assert len(batches) == 2 and all(sum(c.entries for c in b) >= 200 for b in batches)  # 200 + (200 + 100)


def test_batch_files_round_trip_and_a_plan_uri_is_a_batch_of_one(tmp_path: Path) -> None:
    store = staging(tmp_path)
    refs = [ChunkRef(f"{store.uri('p')}/c{i}.plan.json", f"ledger/shards/s{i % 2}", 3) for i in range(5)]
    uris = write_batches(store, "runs/r", group_chunks(refs, 2))
    assert len(uris) == 2
    assert [c for u in uris for c in read_batch(store, u, "ledger")] == refs
    assert read_batch(store, "s3://x/c.plan.json", "ledger") == [ChunkRef("s3://x/c.plan.json", "ledger")]


# -- planning a shard against its own ledger --------------------------------------------------------


@pytest.fixture
def source(tmp_path: Path) -> LocalStore:
    root = tmp_path / "media"
    for name in [f"in/dt=2026-01-0{d}/img{i}.jpg" for d in (1, 2, 3) for i in range(3)] + ["in/top.jpg"]:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(JPEG + name.encode())
    return LocalStore(root)


def test_each_shard_plans_only_its_keys_into_its_own_ledger(tmp_path: Path, source: LocalStore) -> None:
    config = _sharded(tmp_path, derive="first_level")
    store = staging(tmp_path)
    shards = declared_shards(config, ["dt=2026-01-01/", "dt=2026-01-02/", "dt=2026-01-03/"])
    planned: dict[str, set[str]] = {}
    for shard in shards:
        ledger = Ledger(store, shard_ledger_prefix(config, shard.id)).load()
        result = plan_run(config, RunOptions(), "run-1", source, store, ledger, shard)
        planned[shard.id] = set(Ledger(store, ledger.prefix).load().records)
        assert result.planned == len(planned[shard.id])
    assert planned[ROOT_SHARD] == {"in/top.jpg"}
    assert planned[shards[2].id] == {f"in/dt=2026-01-02/img{i}.jpg" for i in range(3)}
    assert sum(len(keys) for keys in planned.values()) == 10
    # A shard's deleted-object check sees only its own ledger: nothing is reported deleted elsewhere.
    ledger = Ledger(store, shard_ledger_prefix(config, shards[1].id)).load()
    again = plan_run(config, RunOptions(), "run-2", source, store, ledger, shards[1])
    assert again.changes.deleted == [] and again.listing["seen"] == 3


# -- splitting an unsharded ledger ------------------------------------------------------------------


def _records(n: int) -> list[LedgerRecord]:
    return [
        LedgerRecord(f"in/d{i % 7}/k{i}.jpg", f"e{i}", ObjectState.LINKED, item_uuid=f"u{i}")
        for i in range(n)
    ]


def test_an_unsharded_ledger_is_split_on_the_first_sharded_run(tmp_path: Path) -> None:
    store = staging(tmp_path)
    old = pipeline(tmp_path)
    legacy = Ledger(store, shard_ledger_prefix(old, "all")).load()
    legacy.write(_records(500), watermark=Watermark("2026-01-01T00:00:00+00:00"))
    config = _sharded(tmp_path, hash=4)
    summary = split_ledger(store, config, "run-1")
    assert summary is not None and sum(summary["records_by_shard"].values()) == 500
    prefixes = current_ledger_prefixes(store, config)
    assert len(prefixes) == 4
    shards = {p: dict(Ledger(store, p).load().records.items()) for p in prefixes}
    assert sum(len(r) for r in shards.values()) == 500
    layout = layout_of(config)
    for prefix, records in shards.items():
        assert {layout.assign(k) for k in records} == {prefix.rpartition("/")[2]}  # isolation
    assert (
        Ledger(store, pipeline_ledger_prefix(config)).load().watermark.last_modified
        == "2026-01-01T00:00:00+00:00"
    )
    assert split_ledger(store, config, "run-2") is None  # once
    assert json.loads(store.read_bytes("base/ledger/unit/layout.json"))["hash"] == 4


def test_changing_the_hash_count_splits_the_shards_again(tmp_path: Path) -> None:
    store = staging(tmp_path)
    first = _sharded(tmp_path, hash=2, hash_by="key")
    for shard in declared_shards(first):
        mine = [r for r in _records(300) if shard.contains(r.key)]
        Ledger(store, shard_ledger_prefix(first, shard.id)).load().write(mine)
    store.write_bytes("base/ledger/unit/layout.json", json.dumps(layout_of(first).describe()).encode())
    second = _sharded(tmp_path, hash=8, hash_by="key")
    split_ledger(store, second, "run-1")
    prefixes = current_ledger_prefixes(store, second)
    assert len(prefixes) == 8 and all(p.endswith("-of-0008") for p in prefixes)
    assert sum(len(Ledger(store, p).load().records) for p in prefixes) == 300


# -- deleting the superseded ledger files, crash-safely ----------------------------------------------


class _Crash(Exception):
    pass


class _CrashingStore(LocalStore):
    """Fails the first write or delete whose key matches `at` (after `skip` matching ones): a process that
    dies between two steps of the split."""

    def __init__(self, root: Path, op: str, at: str, skip: int = 0) -> None:
        super().__init__(root)
        self.op, self.at, self.skip = op, at, skip

    def _maybe_crash(self, op: str, key: str) -> None:
        if op == self.op and self.at in key:
            if self.skip == 0:
                self.op = "crashed"
                raise _Crash(f"{op} {key}")
            self.skip -= 1

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._maybe_crash("write", key)
        super().write_bytes(key, data, content_type)

    def delete(self, key: str) -> None:
        self._maybe_crash("delete", key)
        super().delete(key)


def _old_files(store: LocalStore) -> list[str]:
    """Segment and snapshot files of the old unsharded ledger (`base/ledger/unit/`)."""
    return [o.key for d in ("segments", "snapshots") for o in store.list_objects(f"base/ledger/unit/{d}/")]


def _unsharded_history(tmp_path: Path) -> list[LedgerRecord]:
    """An unsharded ledger of 500 records in a snapshot and two later segments, and its watermark."""
    store = staging(tmp_path)
    legacy = Ledger(store, shard_ledger_prefix(pipeline(tmp_path), "all")).load()
    records = _records(500)
    legacy.write(records[:300])
    legacy.compact(grace_seconds=0)
    legacy.write(records[300:450], watermark=Watermark("2026-01-01T00:00:00+00:00"))
    legacy.write(records[450:])
    assert len(_old_files(store)) >= 3 and any("/snapshots/" in k for k in _old_files(store))
    return records


def _all_shard_records(store: LocalStore, config: IngestPipeline) -> dict[str, tuple[str, str | None]]:
    found: dict[str, tuple[str, str | None]] = {}
    for prefix in current_ledger_prefixes(store, config):
        for key, record in Ledger(store, prefix).load().records.items():
            assert key not in found, f"{key} in two shards"
            found[key] = (str(record.state), record.item_uuid)
    return found


def test_a_split_deletes_the_old_ledger_files_once_the_new_layout_is_committed(tmp_path: Path) -> None:
    records = _unsharded_history(tmp_path)
    store, config = staging(tmp_path), _sharded(tmp_path, hash=4)
    old_files = len(_old_files(store))
    summary = split_ledger(store, config, "run-1")
    assert summary is not None and summary["old_files_deleted"] == old_files
    assert _old_files(store) == [] and not store.exists("base/ledger/unit/split-cleanup.json")
    assert _all_shard_records(store, config) == {r.key: ("linked", r.item_uuid) for r in records}
    watermark = Ledger(store, pipeline_ledger_prefix(config)).load().watermark
    assert watermark.last_modified == "2026-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("op", "at", "skip"),
    [
        ("write", "/shards/", 1),  # part-way through writing the shard ledgers
        ("write", "/pipeline/", 0),  # moving the watermark
        ("write", "split-cleanup.json", 0),  # before the list of old files is saved
        ("write", "layout.json", 0),  # the list saved, the layout not committed
        ("delete", "/segments/", 0),  # committed, nothing deleted yet
        ("delete", "/segments/", 1),  # part-way through deleting
        ("delete", "split-cleanup.json", 0),  # every old file deleted, the list not yet
    ],
)
def test_a_crash_at_any_step_of_the_split_loses_no_record_and_the_next_run_finishes_it(
    tmp_path: Path, op: str, at: str, skip: int
) -> None:
    records = _unsharded_history(tmp_path)
    config = _sharded(tmp_path, hash=4)
    old_files = _old_files(staging(tmp_path))
    with pytest.raises(_Crash):
        split_ledger(_CrashingStore(tmp_path / "staging", op, at, skip), config, "run-1")
    store = staging(tmp_path)
    committed = store.exists("base/ledger/unit/layout.json")
    assert committed == (op == "delete")
    if not committed:  # the old ledger is still the live one, and whole
        assert _old_files(store) == old_files
        old = Ledger(store, shard_ledger_prefix(pipeline(tmp_path), "all")).load().records
        assert {k: (str(r.state), r.item_uuid) for k, r in old.items()} == {
            r.key: ("linked", r.item_uuid) for r in records
        }
    split_ledger(store, config, "run-2")  # the next run's prepare: splits again, or finishes the cleanup
    assert _old_files(store) == [] and not store.exists("base/ledger/unit/split-cleanup.json")
    # every record once, in its shard, still linked to its item: nothing is planned (registered) again
    assert _all_shard_records(store, config) == {r.key: ("linked", r.item_uuid) for r in records}
    assert split_ledger(store, config, "run-3") is None


def test_a_split_that_never_committed_deletes_nothing_when_the_config_goes_back(tmp_path: Path) -> None:
    _unsharded_history(tmp_path)
    old_files = _old_files(staging(tmp_path))
    crashing = _CrashingStore(tmp_path / "staging", "write", "layout.json")
    with pytest.raises(_Crash):
        split_ledger(crashing, _sharded(tmp_path, hash=4), "run-1")
    store, first = staging(tmp_path), _sharded(tmp_path, hash=2)
    store.write_bytes("base/ledger/unit/layout.json", json.dumps(layout_of(first).describe()).encode())
    assert split_ledger(store, first, "run-2") is None  # the stale list names live files: dropped
    assert _old_files(store) == old_files and not store.exists("base/ledger/unit/split-cleanup.json")


def test_a_prefix_split_keeps_the_files_of_an_old_ledger_with_records_left_out(tmp_path: Path) -> None:
    _unsharded_history(tmp_path)
    store, config = staging(tmp_path), _sharded(tmp_path, prefixes=["in/d1/"])
    old_files = _old_files(store)
    summary = split_ledger(store, config, "run-1")
    assert summary is not None and summary["left_out"] > 0 and summary["old_files_deleted"] == 0
    assert _old_files(store) == old_files  # the only copy of the keys outside in/d1/


def test_a_vanished_derived_folder_still_has_its_deletions_reported(
    tmp_path: Path, source: LocalStore
) -> None:
    import shutil

    from encord_provider.ingest.shard_run import fix_run_shards, read_group

    config = _sharded(tmp_path, derive="first_level")
    store = staging(tmp_path)

    def run(run_id: str) -> dict[str, list[str]]:
        groups = fix_run_shards(store, source, config, run_id)
        deleted: dict[str, list[str]] = {}
        for group in range(groups):
            for shard in read_group(store, config, run_id, group)[0]:
                ledger = Ledger(store, shard_ledger_prefix(config, shard.id)).open()
                result = plan_run(config, RunOptions(), run_id, source, store, ledger, shard)
                deleted[shard.id] = sorted(d["key"] for d in result.changes.deleted)
                Ledger(store, ledger.prefix).compact(0)
        return deleted

    run("run-1")
    shutil.rmtree(source.root / "in" / "dt=2026-01-02")  # the whole folder is gone
    gone = run("run-2")
    assert gone[prefix_shard_id("dt=2026-01-02/")] == [f"in/dt=2026-01-02/img{i}.jpg" for i in range(3)]
    assert sum(len(keys) for keys in gone.values()) == 3


class _CountingSource(LocalStore):
    listings = 0

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Any:
        self.listings += 1
        return super().list_objects(prefix, start_after)


def test_hash_shards_share_one_listing_of_the_prefix(tmp_path: Path, source: LocalStore) -> None:
    from encord_provider.ingest.shard_run import fix_run_shards, read_group

    config = _sharded(tmp_path, hash=3, hash_by="key")
    store, counting = staging(tmp_path), _CountingSource(source.root)
    groups = fix_run_shards(store, counting, config, "run-1")
    planned: set[str] = set()
    for group in range(groups):
        for shard in read_group(store, config, "run-1", group)[0]:
            ledger = Ledger(store, shard_ledger_prefix(config, shard.id)).open()
            result = plan_run(config, RunOptions(), "run-1", counting, store, ledger, shard)
            keys = set(Ledger(store, ledger.prefix).load().records)
            assert all(shard.contains(k) for k in keys) and result.listing["scope"]["full"] is True
            planned |= keys
    assert counting.listings == 1  # not once per shard
    assert planned == {f"in/dt=2026-01-0{d}/img{i}.jpg" for d in (1, 2, 3) for i in range(3)} | {"in/top.jpg"}
