"""`ingest.listing_scope`: which partitions a run lists, and plan_run finding late objects by full listings."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from encord_provider.config.listing import ListingConfig
from encord_provider.ingest.listing_scope import (
    FULL_LISTING_FILE,
    ListRange,
    listing_scope,
    note_full_listing,
    read_last_full_listing,
)
from encord_provider.ingest.plan import PlanResult, RunOptions, advance_watermark, plan_run
from encord_provider.ingest.stores import ledger_prefix
from encord_provider.ledger import Ledger, ObjectState
from encord_provider.storage.local import LocalStore
from encord_provider.storage.records import ObjectRecord
from pydantic import ValidationError

from tests.unit.ingest_fakes import pipeline, staging

NOW = datetime(2024, 5, 10, 12, tzinfo=UTC)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def config(**listing: Any) -> ListingConfig:
    return ListingConfig.model_validate({"partitions": {"format": "dt=%Y-%m-%d/"}, **listing})


def test_a_recent_full_listing_and_a_watermark_prune_to_start_after_the_bound_partition() -> None:
    scope = listing_scope("in/", config(), NOW, NOW - timedelta(days=1), NOW)
    assert not scope.full
    assert scope.ranges == (
        ListRange("in/", "in/dt=2024-05-09"),
    )  # watermark - 1 day, its partition included


@pytest.mark.parametrize(
    ("listing", "watermark", "last_full", "reason"),
    [
        ({"partitions": None}, NOW, NOW, "no partitions"),
        ({}, None, NOW, "no watermark"),
        ({}, NOW, None, "periodic full listing"),
        ({}, NOW, NOW - timedelta(days=7), "periodic full listing"),
        ({"full_listing_every": "0"}, NOW, NOW, "periodic full listing"),
    ],
)
def test_the_whole_prefix_is_listed_when_pruning_could_miss_something(
    listing: dict[str, Any], watermark: datetime | None, last_full: datetime | None, reason: str
) -> None:
    scope = listing_scope("in/", config(**listing), watermark, last_full, NOW)
    assert scope.full and scope.ranges == (ListRange("in/"),) and reason in scope.reason


def test_partitions_that_do_not_sort_like_dates_are_listed_one_prefix_each_up_to_tomorrow() -> None:
    listing = ListingConfig.model_validate({"partitions": {"format": "%d-%m-%Y/", "safety_lag": "36h"}})
    scope = listing_scope("", listing, NOW, NOW, NOW)
    assert [r.prefix for r in scope.ranges] == ["09-05-2024/", "10-05-2024/", "11-05-2024/"]
    assert all(r.start_after is None for r in scope.ranges)


@pytest.mark.parametrize("fmt", ["dt=%Y-%m-%d", "dt=%m-%d/", "dt=%Y-%j/", "static/"])
def test_a_partition_format_must_be_a_dated_prefix(fmt: str) -> None:
    with pytest.raises(ValidationError, match="partition format"):
        config(partitions={"format": fmt})


def test_durations_accept_units() -> None:
    listing = config(full_listing_every="36h", partitions={"format": "dt=%Y/%m/%d/", "safety_lag": "90m"})
    assert listing.full_listing_every == timedelta(hours=36)
    assert listing.partitions is not None and listing.partitions.safety_lag == timedelta(minutes=90)
    assert listing.partitions.key_monotonic


def test_the_full_listing_note_round_trips(tmp_path: Path) -> None:
    store = staging(tmp_path)
    assert read_last_full_listing(store, "ledger") is None
    note_full_listing(store, "ledger", "run-1", NOW)
    assert read_last_full_listing(store, "ledger") == NOW


class CountingStore(LocalStore):
    """A local source that counts the records its listings yield (what LIST pages would carry)."""

    listed = 0

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectRecord]:
        for record in super().list_objects(prefix, start_after):
            self.listed += 1
            yield record


def _put(root: Path, key: str, modified: datetime) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(JPEG + key.encode())
    os.utime(path, (modified.timestamp(), modified.timestamp()))


def _run(tmp_path: Path, source: LocalStore, run_id: str) -> PlanResult:
    """plan, then settle everything planned and do what finalize does (watermark, full-listing note)."""
    config = pipeline(tmp_path, source={"cloud": "s3", "bucket": "media", "prefix": "in/",
                                        "listing": {"partitions": {"format": "dt=%Y-%m-%d/"}}})  # fmt: skip
    store = staging(tmp_path)
    ledger = Ledger(store, ledger_prefix(config)).load()
    result = plan_run(config, RunOptions(), run_id, source, store, ledger)
    ledger.write([r.moved(ObjectState.LINKED, item_uuid=k) for k, r in ledger.records.items()])
    advance_watermark(ledger, result.newest, run_id)
    if result.listing["full_listing"]:
        note_full_listing(store, ledger_prefix(config), run_id)
    return result


def test_a_pruned_run_lists_only_recent_partitions_and_a_full_listing_finds_late_objects(
    tmp_path: Path,
) -> None:
    root = tmp_path / "media"
    for day in range(1, 31):
        moment = datetime(2024, 4, day, 12, tzinfo=UTC)
        for n in range(3):
            _put(root, f"in/dt={moment:%Y-%m-%d}/{n}.jpg", moment)
    source = CountingStore(root)
    first = _run(tmp_path, source, "run-1")
    assert first.planned == 90 and first.listing["scope"]["full"] and source.listed == 90

    _put(root, "in/dt=2024-05-01/new.jpg", datetime(2024, 5, 1, 1, tzinfo=UTC))  # a new partition
    _put(root, "in/dt=2024-04-02/late.jpg", datetime(2024, 5, 1, 1, tzinfo=UTC))  # late, in an old partition
    source.listed = 0
    second = _run(tmp_path, source, "run-2")
    assert not second.listing["scope"]["full"] and second.planned == 1
    assert source.listed == 1 + 3 + 3  # new.jpg + the partitions of 04-29 (the lag) and 04-30

    store = staging(tmp_path)
    key = f"{ledger_prefix(pipeline(tmp_path))}/{FULL_LISTING_FILE}"
    store.write_bytes(
        key, json.dumps({"listed_at": (datetime.now(UTC) - timedelta(days=8)).isoformat()}).encode()
    )
    third = _run(tmp_path, source, "run-3")
    assert third.listing["scope"]["full"] and third.planned == 1  # late.jpg, found by the full listing


def test_the_polling_trigger_lists_the_same_partitions_from_its_watermark() -> None:
    from encord_provider.ledger.watermark import PollWindow
    from encord_provider.triggers.bucket_poll import poll_ranges

    partitions = {"format": "dt=%Y-%m-%d/", "safety_lag": 86400.0}
    window = PollWindow(NOW, timedelta(minutes=15))
    assert poll_ranges("in/", partitions, window) == (ListRange("in/", "in/dt=2024-05-09"),)
    assert poll_ranges("in/", None, window) == (ListRange("in/"),)
    assert poll_ranges("in/", partitions, PollWindow(None, timedelta(minutes=15))) == (ListRange("in/"),)


def test_prefix_pruning_lists_one_prefix_per_partition_up_to_tomorrow() -> None:
    listing = config(partitions={"format": "dt=%Y-%m-%d/", "pruning": "prefixes"})
    scope = listing_scope("in/", listing, NOW, NOW - timedelta(days=1), NOW)
    assert not scope.full
    assert scope.ranges == tuple(ListRange(f"in/dt=2024-05-{d}/") for d in ("09", "10", "11"))


def test_the_first_poll_looks_up_only_the_keys_it_lists(tmp_path: Path) -> None:
    from encord_provider.ledger import Ledger, LedgerRecord, ObjectState
    from encord_provider.ledger.watermark import KnownEtags, PollWindow

    store = staging(tmp_path)
    ledger = Ledger(store, "ledger").scan()
    ledger.write([LedgerRecord(f"in/k{i:05d}.jpg", f"e{i}", ObjectState.LINKED) for i in range(3000)])
    ledger.compact(0)
    opened = Ledger(store, "ledger").open()

    def every() -> Any:
        raise AssertionError("the whole ledger was read")

    window = PollWindow(NOW - timedelta(hours=1), timedelta(hours=2), KnownEtags(opened.get, every))
    listed = [ObjectRecord("u", "in/k00007.jpg", 1, "e7", NOW), ObjectRecord("u", "in/new.jpg", 1, "x", NOW)]
    assert [r.key for r in window.take(listed)] == ["in/new.jpg"]
    assert opened.fetched_blocks <= 2


def test_a_sharded_pipelines_poll_knows_the_objects_of_its_shard_ledgers(tmp_path: Path) -> None:
    from unittest import mock

    from encord_provider.config.ingest import IngestPipeline
    from encord_provider.ingest.shards import layout_of, shard_ledger_prefix
    from encord_provider.ledger import Ledger, LedgerRecord, ObjectState
    from encord_provider.triggers import bucket_poll

    from tests.unit.ingest_fakes import pipeline

    store = staging(tmp_path)
    config: IngestPipeline = pipeline(tmp_path, shards={"hash": 4, "hash_by": "key"})
    keys = [f"in/k{i}.jpg" for i in range(40)]
    for key in keys:
        shard = layout_of(config).assign(key)
        assert shard is not None
        Ledger(store, shard_ledger_prefix(config, shard)).scan().write(
            [LedgerRecord(key, "e", ObjectState.LINKED)]
        )
    layout = {
        "prefix": "in/",
        "shards": config.shards.model_dump(mode="json"),
        "ledger_root": "base/ledger/unit",
    }
    where = {
        "scheme": "file",
        "bucket": "x",
        "ledger_prefix": "base/ledger/unit/pipeline",
        "shard_layout": layout,
    }
    with mock.patch.object(bucket_poll, "open_store", lambda uri, **_: store):
        window = bucket_poll.ledger_window(where, timedelta(hours=1))
    listed = [ObjectRecord("u", key, 1, "e", NOW) for key in [*keys, "in/new.jpg"]]
    assert [r.key for r in window.take(listed)] == ["in/new.jpg"]
