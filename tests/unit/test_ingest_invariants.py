"""The exactly-once checker finds each kind of violation (so scenario tests that use it can fail)."""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from tests.ingest_invariants import check_exactly_once


def _rec(state: str, item: str | None = None, error: str | None = None) -> NS:
    return NS(state=state, item_uuid=item, error=error)


def _item(uuid: str, url: str) -> NS:
    return NS(uuid=uuid, url=url)


def test_clean_run_passes_and_tallies() -> None:
    tally = check_exactly_once(
        bucket_keys=["a", "b", "c"],
        ledger_records={
            "a": _rec("linked", "u1"),
            "b": _rec("linked", "u2"),
            "c": _rec("rejected", error="bad"),
        },
        folder_items=[_item("u1", "s3://x/a"), _item("u2", "s3://x/b")],
        dataset_rows={"d": [NS(backing_item_uuid="u1"), NS(backing_item_uuid="u2")]},
    )
    assert tally.as_dict() == {
        "objects_in": 3,
        "registered": 2,
        "rejected": 1,
        "registered_twice": 0,
        "lost": 0,
    }


@pytest.mark.parametrize(
    ("records", "items", "rows", "needle"),
    [
        ({"a": _rec("linked", "u1")}, [_item("u1", "s3://x/a"), _item("u9", "s3://x/a")], ["u1"], "URL"),
        ({"a": _rec("registered", "u1")}, [_item("u1", "s3://x/a")], ["u1"], "not linked"),
        ({}, [], [], "not in the ledger"),
        ({"a": _rec("rejected")}, [], [], "without a reason"),
        ({"a": _rec("linked", "u1")}, [], [], "not in the folder"),
        ({"a": _rec("linked", "u1")}, [_item("u1", "s3://x/a")], ["u1", "u1"], "more than once"),
        ({"a": _rec("linked", "u1")}, [_item("u1", "s3://x/a")], [], "lacks"),
    ],
)
def test_each_violation_is_reported(records: dict, items: list, rows: list, needle: str) -> None:
    with pytest.raises(AssertionError, match=needle):
        check_exactly_once(
            bucket_keys=["a"],
            ledger_records=records,
            folder_items=items,
            dataset_rows={"d": [NS(backing_item_uuid=u) for u in rows]},
        )


def _uploaded(uuid: str, upload_id: str) -> NS:
    """An item uploaded from a local source: no URL, its upload id in the client metadata."""
    return NS(
        uuid=uuid, url=None, client_metadata={"encord_ingest": {"upload": {"id": upload_id, "token": uuid}}}
    )


def test_a_local_file_uploaded_twice_is_found_by_its_upload_id() -> None:
    with pytest.raises(AssertionError, match="upload:id-a 2 times"):
        check_exactly_once(
            bucket_keys=["a"], ledger_records={"a": _rec("linked", "u1"), "a2": _rec("linked", "u2")},
            folder_items=[_uploaded("u1", "id-a"), _uploaded("u2", "id-a")],
            dataset_rows={"d": [NS(backing_item_uuid="u1"), NS(backing_item_uuid="u2")]},
        )  # fmt: skip
    tally = check_exactly_once(
        bucket_keys=["a"], ledger_records={"a": _rec("linked", "u1")}, folder_items=[_uploaded("u1", "id-a")],
        dataset_rows={"d": [NS(backing_item_uuid="u1")]},
    )  # fmt: skip
    assert tally.registered == 1 and tally.registered_twice == 0
