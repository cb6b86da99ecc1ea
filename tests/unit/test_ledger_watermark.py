"""Watermark rules without Airflow: which runs may move it, and the polling window's lag and memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from encord_provider.config.ingest import DATA_TYPES
from encord_provider.ingest.plan import RunOptions
from encord_provider.ledger import LedgerRecord, ObjectState
from encord_provider.ledger.watermark import PollWindow, known_etags, partial_run_reason
from encord_provider.storage.records import ObjectRecord

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
LAG = timedelta(minutes=15)


def _obj(key: str, at: datetime, etag: str = "e1") -> ObjectRecord:
    return ObjectRecord(f"s3://b/{key}", key, 1, etag, at)


def _keys(records: list[ObjectRecord]) -> list[str]:
    return [r.key for r in records]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, None),
        ({"prefix": "in/"}, None),  # the configured prefix, spelled out
        ({"chunk_size": 2}, None),  # changes chunking, not what is listed
        ({"data_types": list(DATA_TYPES)}, None),
        ({"prefix": "in/cams/"}, "prefix 'in/cams/'"),
        ({"prefix": "i"}, "prefix 'i'"),  # wider than the pipeline is partial too
        ({"since": "2026-01-01T00:00:00+00:00"}, "since 2026-01-01T00:00:00+00:00"),
        ({"dry_run": True}, "a dry run"),
        ({"data_types": ["image"]}, "data_types ['image']"),
        ({"max_objects": 10}, "max_objects 10"),
    ],
)
def test_only_complete_runs_move_the_watermark(params: dict[str, object], reason: str | None) -> None:
    assert partial_run_reason(RunOptions.from_params(params), "in/", DATA_TYPES) == reason


def test_same_second_and_late_objects_are_found_and_announced_once() -> None:
    window = PollWindow(T0, LAG)
    bucket = [_obj("seen.jpg", T0)]
    assert _keys(window.take(bucket)) == ["seen.jpg"]  # no ledger to say it is known
    bucket.append(_obj("same-second.jpg", T0))  # listings carry seconds: same stamp as the newest seen
    bucket.append(_obj("late.jpg", T0 - timedelta(minutes=5)))  # replicated with its source time
    assert sorted(_keys(window.take(bucket))) == ["late.jpg", "same-second.jpg"]
    assert window.take(bucket) == [] and window.take(bucket) == []  # never again inside the lag
    bucket.append(_obj("seen.jpg", T0 + timedelta(seconds=30), etag="e2"))  # overwritten
    assert _keys(window.take(bucket)) == ["seen.jpg"]


def test_objects_older_than_the_lag_are_left_to_the_scheduled_run() -> None:
    window = PollWindow(T0, LAG)
    assert window.take([_obj("too-late.jpg", T0 - LAG - timedelta(seconds=1))]) == []
    assert _keys(window.take([_obj("just-in.jpg", T0 - LAG)])) == ["just-in.jpg"]


def test_a_restarted_trigger_does_not_announce_what_the_ledger_has() -> None:
    ledger = [
        LedgerRecord("done.jpg", "e1", ObjectState.LINKED, item_uuid="u"),
        LedgerRecord("failed.jpg", "e1", ObjectState.FAILED, error="x"),
        LedgerRecord("changed.jpg", "old", ObjectState.LINKED, item_uuid="u2"),
    ]
    window = PollWindow(T0, LAG, known_etags(ledger))
    bucket = [_obj("done.jpg", T0), _obj("failed.jpg", T0), _obj("changed.jpg", T0), _obj("new.jpg", T0)]
    assert sorted(_keys(window.take(bucket))) == ["changed.jpg", "failed.jpg", "new.jpg"]
    assert window.known is None and window.take(bucket) == []


def test_a_listing_that_fails_part_way_remembers_nothing() -> None:
    window = PollWindow(None, LAG, {"known.jpg": "e1"})

    def failing() -> Iterator[ObjectRecord]:
        yield _obj("a.jpg", T0)
        raise ConnectionError("listing broke")

    with pytest.raises(ConnectionError):
        window.take(failing())
    assert window.announced == {} and window.known == {"known.jpg": "e1"} and window.watermark is None
    assert _keys(window.take([_obj("a.jpg", T0), _obj("known.jpg", T0)])) == ["a.jpg"]


def test_memory_holds_only_the_objects_within_one_lag() -> None:
    window = PollWindow(None, LAG)
    for minute in range(0, 120, 5):
        window.take([_obj(f"m{minute}.jpg", T0 + timedelta(minutes=minute))])
    assert window.watermark == T0 + timedelta(minutes=115)
    assert sorted(window.announced) == sorted(f"m{m}.jpg" for m in (100, 105, 110, 115))


def test_only_empty_folder_markers_are_left_out_of_a_poll() -> None:
    window = PollWindow(None, LAG)
    marker = ObjectRecord("s3://b/in/", "in/", 0, "e0", T0)
    data_named_like_a_folder = ObjectRecord("s3://b/in/x/", "in/x/", 12, "e1", T0)
    assert _keys(window.take([marker, data_named_like_a_folder])) == ["in/x/"]
