"""At most one upload job per chunk (`ingest.jobs.ChunkRegistration`), on a real local staging store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from encord_provider.ingest import jobs
from encord_provider.ingest.errors import AmbiguousWriteError, EncordTargetError, PermanentIngestError
from encord_provider.ingest.jobs import (
    AwaitEvidence,
    ChunkRegistration,
    SettledByEvidence,
    WaitOnJob,
    manifest_subset,
)
from encord_provider.ledger import Ledger, ObjectState

from tests.unit.ingest_fakes import FakeApi, done, plan_of, staging

TITLES = ("a.jpg", "b.jpg", "c.jpg")


def _registration(tmp_path: Path, api: FakeApi, settle: float = 60.0) -> ChunkRegistration:
    store = staging(tmp_path)
    manifest = {"images": [{"objectUrl": f"s3://media/in/{t}", "title": t} for t in TITLES],
                "skip_duplicate_urls": True}  # fmt: skip
    store.write_bytes("runs/chunks/chunk-00000.json", json.dumps(manifest).encode())
    plan = plan_of(*TITLES, manifest_uri=store.uri("runs/chunks/chunk-00000.json"))
    return ChunkRegistration(
        staging=store, ledger=Ledger(store, "ledger").scan(), api=api,  # type: ignore[arg-type]
        plan_uri=store.uri("runs/chunks/chunk-00000.plan.json"), plan=plan, folder_uuid="folder",
        integration_id="integration", settle_seconds=settle, poll_seconds=1.0,
    )  # fmt: skip


def _states(registration: ChunkRegistration) -> dict[str, str]:
    ledger = Ledger(registration.staging, "ledger").load()
    return {key: str(record.state) for key, record in ledger.records.items()}


def test_the_intent_is_recorded_before_the_job_starts(tmp_path: Path) -> None:
    api = FakeApi()
    registration = _registration(tmp_path, api)
    seen: list[Any] = []

    def check_intent(manifest: dict[str, Any]) -> None:
        marker = registration.read_marker()
        seen.append((marker.outcome, marker.upload_job_id, _states(registration)) if marker else None)

    api.on_start = check_intent
    step = registration.next_step()
    assert isinstance(step, WaitOnJob)
    assert seen == [("starting", None, {f"in/{t}": "submitted" for t in TITLES})]
    marker = registration.read_marker()
    assert marker is not None and (marker.upload_job_id, marker.outcome) == (step.job_id, "started")
    assert len(marker.manifest_sha256) == 64 and marker.chunk == registration.plan_uri
    assert api.started[0]["skip_duplicate_urls"] is True


def test_a_retry_resumes_the_recorded_job_and_starts_nothing(tmp_path: Path) -> None:
    api = FakeApi()
    first = _registration(tmp_path, api).next_step()
    again = _registration(tmp_path, api).next_step()
    assert again == first and len(api.started) == 1


def test_a_crash_between_start_and_record_is_settled_from_the_folder(tmp_path: Path) -> None:
    api = FakeApi()

    def crash(manifest: dict[str, Any]) -> None:
        raise SystemExit("killed after Encord accepted the job")

    api.on_start = crash
    with pytest.raises(SystemExit):
        _registration(tmp_path, api).next_step()
    api.on_start = None
    retry = _registration(tmp_path, api)
    step = retry.next_step()
    assert isinstance(step, AwaitEvidence) and (step.found, step.missing) == (0, 3)
    assert len(api.started) == 1  # waiting, not starting
    items = api.register(*TITLES)  # the first job finishes
    settled = retry.next_step()
    assert isinstance(settled, SettledByEvidence)
    assert {r.key: r.item_uuid for r in settled.records} == {f"in/{t}": items[t] for t in TITLES}
    assert {str(r.state) for r in settled.records} == {"registered"}
    assert len(api.started) == 1


def test_a_lost_response_waits_for_the_job_instead_of_retrying_it(tmp_path: Path) -> None:
    api = FakeApi()

    def lost(manifest: dict[str, Any]) -> None:
        api.register("a.jpg")  # Encord went ahead
        raise AmbiguousWriteError("start upload job: UnknownException (502)")

    api.on_start = lost
    step = _registration(tmp_path, api).next_step()
    assert isinstance(step, AwaitEvidence) and (step.found, step.missing) == (1, 2)
    marker = _registration(tmp_path, api).read_marker()
    assert marker is not None and marker.found == 1 and marker.upload_job_id is None
    assert len(api.started) == 1


def test_after_the_settle_time_only_the_missing_entries_go_into_a_new_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeApi()
    api.on_start = lambda manifest: (_ for _ in ()).throw(AmbiguousWriteError("502"))
    registration = _registration(tmp_path, api, settle=60)
    registration.next_step()
    api.on_start = None
    found = api.register("a.jpg")
    assert isinstance(registration.next_step(), AwaitEvidence)  # progress restarts the quiet clock
    later = datetime.now(UTC) + timedelta(seconds=61)
    monkeypatch.setattr(jobs, "_now", lambda: later)
    step = registration.next_step()
    assert isinstance(step, WaitOnJob) and step.attempt == 2
    assert [e["title"] for e in api.started[1]["images"]] == ["b.jpg", "c.jpg"]
    marker = registration.read_marker()
    assert marker is not None and marker.entries == ["b.jpg", "c.jpg"] and marker.attempt == 2
    states = _states(registration)
    assert states["in/a.jpg"] == "registered" and states["in/b.jpg"] == "submitted"
    records = registration.finish(step.job_id, done(api.register("b.jpg", "c.jpg")))
    assert sorted(r.key for r in records) == ["in/b.jpg", "in/c.jpg"]  # a.jpg was settled by evidence
    assert Ledger(registration.staging, "ledger").load().records["in/a.jpg"].item_uuid == found["a.jpg"]


def test_a_refused_start_is_not_started_and_fails(tmp_path: Path) -> None:
    api = FakeApi()
    api.on_start = lambda manifest: (_ for _ in ()).throw(EncordTargetError("manifest rejected"))
    registration = _registration(tmp_path, api)
    with pytest.raises(EncordTargetError):
        registration.next_step()
    marker = registration.read_marker()
    assert marker is not None and marker.outcome == "not_started"
    assert set(_states(registration).values()) == {"pending"}  # the next plan includes them again
    api.on_start = None
    step = registration.next_step()  # a retry starts at once (no settle wait: nothing was started)
    assert isinstance(step, WaitOnJob) and step.attempt == 2 and len(api.started) == 2


def test_attempts_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApi()
    api.on_start = lambda manifest: (_ for _ in ()).throw(AmbiguousWriteError("502"))
    registration = _registration(tmp_path, api, settle=1)
    registration.next_step()
    for attempt in (2, 3):  # each look after the settle time starts the next attempt
        later = datetime.now(UTC) + timedelta(seconds=2 * attempt)
        monkeypatch.setattr(jobs, "_now", lambda later=later: later)
        assert isinstance(registration.next_step(), AwaitEvidence)
    assert len(api.started) == 3
    monkeypatch.setattr(jobs, "_now", lambda: datetime.now(UTC) + timedelta(seconds=10))
    with pytest.raises(PermanentIngestError, match="3 registration attempts"):
        registration.next_step()
    assert len(api.started) == 3


def test_two_tries_racing_for_the_intent_start_one_job(tmp_path: Path) -> None:
    api = FakeApi()
    first, second = _registration(tmp_path, api), _registration(tmp_path, api)
    real_write = second._write_marker

    def lose_the_race(marker: Any, replacing: Any) -> Any:
        first.next_step()  # the other try writes its intent (and starts) first
        return real_write(marker, replacing)

    second._write_marker = lose_the_race  # type: ignore[method-assign]
    step = second.next_step()
    assert isinstance(step, WaitOnJob) and len(api.started) == 1


def test_finish_maps_items_errors_and_duplicates(tmp_path: Path) -> None:
    api = FakeApi()
    registration = _registration(tmp_path, api)
    step = registration.next_step()
    assert isinstance(step, WaitOnJob)
    state = done({"a.jpg": "item-a"}, unit_errors={"s3://media/in/b.jpg": "not an image"})
    records = {r.key: r for r in registration.finish(step.job_id, state)}
    assert (records["in/a.jpg"].state, records["in/a.jpg"].item_uuid) == (ObjectState.REGISTERED, "item-a")
    assert records["in/b.jpg"].state == ObjectState.FAILED and records["in/b.jpg"].error == "not an image"
    assert records["in/c.jpg"].state == ObjectState.DUPLICATE  # DONE, not named: skipped as a duplicate URL


def test_manifest_subset_keeps_only_the_named_entries() -> None:
    manifest = {
        "images": [{"title": "a"}, {"title": "b"}],
        "videos": [{"title": "v"}],
        "skip_duplicate_urls": True,
    }
    assert manifest_subset(manifest, ["b", "v"]) == {"images": [{"title": "b"}], "videos": [{"title": "v"}],
                                                      "skip_duplicate_urls": True}  # fmt: skip
    assert manifest_subset(manifest, None) is manifest
