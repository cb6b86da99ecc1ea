"""Which objects a run sends to Encord, given what the ledger says about them."""

from __future__ import annotations

import pytest
from encord_provider.ledger import LedgerRecord, ObjectState, needs_submission


def _rec(state: ObjectState, etag: str = "e1") -> LedgerRecord:
    return LedgerRecord(key="a.jpg", etag=etag, state=state)


def test_unknown_object_is_submitted() -> None:
    assert needs_submission(None, "e1")


@pytest.mark.parametrize("state", [ObjectState.REGISTERED, ObjectState.DUPLICATE, ObjectState.LINKED])
def test_settled_objects_are_never_resubmitted_even_if_changed(state: ObjectState) -> None:
    assert not needs_submission(_rec(state), "e1")
    assert not needs_submission(_rec(state), "e2")


def test_in_flight_object_waits_for_its_job() -> None:
    assert not needs_submission(_rec(ObjectState.SUBMITTED), "e1")


@pytest.mark.parametrize("state", [ObjectState.PENDING, ObjectState.FAILED])
def test_pending_and_failed_are_retried(state: ObjectState) -> None:
    assert needs_submission(_rec(state), "e1")


def test_rejected_is_retried_only_when_content_changed() -> None:
    assert not needs_submission(_rec(ObjectState.REJECTED, "e1"), "e1")
    assert needs_submission(_rec(ObjectState.REJECTED, "e1"), "e2")


def test_record_json_round_trip_drops_empty_fields() -> None:
    record = LedgerRecord(key="k", etag="", state=ObjectState.PENDING, chunk="s3://b/c.json", entry="k")
    data = record.to_json()
    assert "item_uuid" not in data and "attempts" not in data and data["etag"] == ""
    assert LedgerRecord.from_json(data) == record
