"""Linking (`ingest.link`), job results (`ingest.chunks`) and target reconciliation (`ingest.targets`)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from encord_provider.ingest.chunks import apply_job_result
from encord_provider.ingest.errors import AmbiguousWriteError
from encord_provider.ingest.link import link_ready_items, resolve_duplicates
from encord_provider.ingest.targets import Resources, mark_datasets_complete, resolve_targets
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState

from tests.unit.ingest_fakes import FakeApi, done, pipeline, plan_of, staging


def _ledger(tmp_path: Path, *records: LedgerRecord) -> Ledger:
    ledger = Ledger(staging(tmp_path), "ledger").load()
    ledger.write(records)
    return ledger


# -- apply_job_result ------------------------------------------------------------------------------


def test_job_result_registers_fails_rejects_and_marks_duplicates() -> None:
    plan = plan_of("a", "b", "c", "d")
    state = done({"a": "item-a"}, unit_errors={"s3://media/in/b": "broken", "s3://media/in/c": "broken"})
    previous: dict[str, LedgerRecord | None] = {
        "in/c": LedgerRecord("in/c", "etag-c", ObjectState.FAILED, attempts=2)
    }
    records = {r.key: r for r in apply_job_result(plan, "p", "job", state, previous, max_attempts=3).records}
    assert (records["in/a"].state, records["in/a"].item_uuid) == (ObjectState.REGISTERED, "item-a")
    assert (records["in/b"].state, records["in/b"].attempts) == (ObjectState.FAILED, 1)
    assert (records["in/c"].state, records["in/c"].attempts) == (ObjectState.REJECTED, 3)  # max_attempts
    assert records["in/d"].state == ObjectState.DUPLICATE
    assert {r.upload_job_id for r in records.values()} == {"job"}


def test_a_job_that_ended_in_error_fails_the_objects_it_did_not_name() -> None:
    plan = plan_of("a", "b")
    state = done({"a": "item-a"}, status="ERROR")
    records = {r.key: r for r in apply_job_result(plan, "p", "job", state, {}, 3).records}
    assert records["in/a"].state == ObjectState.REGISTERED
    assert records["in/b"].state == ObjectState.FAILED and "ended ERROR" in (records["in/b"].error or "")


# -- link ----------------------------------------------------------------------------------------


def test_ready_items_are_linked_into_every_dataset_and_marked_linked(tmp_path: Path) -> None:
    ledger = _ledger(
        tmp_path,
        LedgerRecord("a", "e", ObjectState.REGISTERED, item_uuid="i1"),
        LedgerRecord("b1", "e", ObjectState.DUPLICATE, item_uuid="i2"),
        LedgerRecord("b2", "e", ObjectState.DUPLICATE, item_uuid="i2"),  # two objects, one group item
        LedgerRecord("c", "e", ObjectState.LINKED, item_uuid="i3"),
        LedgerRecord("d", "e", ObjectState.FAILED),
    )
    api = FakeApi()
    result = link_ready_items(ledger, api, ["d1", "d2"], "run")  # type: ignore[arg-type]
    assert result == {"items": 2, "datasets": {"d1": 2, "d2": 2}, "linked_objects": 3, "backfilled": {}}
    assert api.link_calls == [("d1", ["i1", "i2"]), ("d2", ["i1", "i2"])]
    states = {k: str(r.state) for k, r in Ledger(ledger.store, "ledger").load().records.items()}
    assert states == {"a": "linked", "b1": "linked", "b2": "linked", "c": "linked", "d": "failed"}


def test_a_backfilled_dataset_also_gets_the_items_linked_before(tmp_path: Path) -> None:
    ledger = _ledger(
        tmp_path,
        LedgerRecord("a", "e", ObjectState.REGISTERED, item_uuid="i1"),
        LedgerRecord("c", "e", ObjectState.LINKED, item_uuid="i3"),
    )
    api = FakeApi()
    result = link_ready_items(ledger, api, ["old", "new"], "run", backfill=["new"])  # type: ignore[arg-type]
    assert dict(api.link_calls) == {"old": ["i1"], "new": ["i1", "i3"]}
    assert result["backfilled"] == {"new": 1}


def test_duplicates_are_resolved_by_url_or_sent_back(tmp_path: Path) -> None:
    ledger = _ledger(
        tmp_path,
        LedgerRecord("in/a", "e", ObjectState.DUPLICATE, entry="a"),
        LedgerRecord("in/b", "e", ObjectState.DUPLICATE, entry="b"),
    )
    api = FakeApi()
    found = api.register("a")
    updates = {r.key: r for r in resolve_duplicates(ledger, api, "folder", lambda k: f"s3://media/{k}")}  # type: ignore[arg-type]
    assert updates["in/a"].item_uuid == found["a"]
    assert updates["in/b"].state == ObjectState.FAILED and updates["in/b"].attempts == 1


# -- targets -------------------------------------------------------------------------------------


class TargetsApi(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.folders: dict[str, str] = {}  # uuid -> name
        self.datasets: dict[str, str] = {}  # hash -> title
        self.creates: list[str] = []
        self.lose_create_response = False

    def integration_id(self, ref: Any) -> str:
        return "integration"

    def folder_exists(self, folder_uuid: str) -> bool:
        return folder_uuid in self.folders

    def top_level_folder(self, name: str) -> str | None:
        return next((u for u, n in self.folders.items() if n == name), None)

    def create_folder(self, config: Any) -> str:
        self.creates.append(f"folder {config.name}")
        self.folders[str(uuid.uuid4())] = config.name
        if self.lose_create_response:
            self.lose_create_response = False
            raise AmbiguousWriteError("create folder: 502")
        return next(u for u, n in self.folders.items() if n == config.name)

    def dataset_exists(self, dataset_hash: str) -> bool:
        return dataset_hash in self.datasets

    def dataset_by_title(self, title: str) -> str | None:
        return next((h for h, t in self.datasets.items() if t == title), None)

    def create_dataset(self, config: Any) -> str:
        self.creates.append(f"dataset {config.title}")
        dataset_hash = str(uuid.uuid4())
        self.datasets[dataset_hash] = config.title
        return dataset_hash

    def attach_dataset_to_projects(self, dataset_hash: str, projects: Any) -> list[str]:
        return []


def _targets(tmp_path: Path, api: TargetsApi, ledger: Ledger, **config: Any) -> Any:
    return resolve_targets(pipeline(tmp_path, **config), api, ledger.store, ledger, "run")  # type: ignore[arg-type]


def test_first_run_creates_once_and_remembers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("encord_provider.ingest.targets.time.sleep", lambda s: None)
    api, ledger = TargetsApi(), _ledger(tmp_path)
    api.lose_create_response = True  # the folder is created but the answer is lost
    targets = _targets(tmp_path, api, ledger)
    assert api.creates == ["folder folder", "dataset dataset"]  # looked up again, not created twice
    assert targets.backfill == targets.dataset_hashes and targets.reconciled == {}
    again = _targets(tmp_path, api, ledger)
    assert (again.folder_uuid, again.dataset_hashes) == (targets.folder_uuid, targets.dataset_hashes)
    assert len(api.creates) == 2


def test_a_deleted_folder_requeues_what_the_ledger_registered(tmp_path: Path) -> None:
    api, ledger = TargetsApi(), _ledger(tmp_path)
    first = _targets(tmp_path, api, ledger)
    ledger.write([LedgerRecord("a", "e", ObjectState.LINKED, item_uuid="i1"),
                  LedgerRecord("z", "e", ObjectState.REJECTED, error="bad")])  # fmt: skip
    del api.folders[first.folder_uuid]
    second = _targets(tmp_path, api, ledger)
    assert second.folder_uuid != first.folder_uuid
    assert second.reconciled["folder_replaced"] == {"old": first.folder_uuid, "new": second.folder_uuid,
                                                    "requeued": 1}  # fmt: skip
    records = Ledger(ledger.store, "ledger").load().records
    assert (records["a"].state, records["a"].item_uuid) == (ObjectState.PENDING, None)
    assert records["z"].state == ObjectState.REJECTED


def test_replaced_and_added_datasets_are_backfilled(tmp_path: Path) -> None:
    api, ledger = TargetsApi(), _ledger(tmp_path)
    first = _targets(tmp_path, api, ledger)
    mark_datasets_complete(pipeline(tmp_path), ledger.store, first.dataset_hashes)
    ledger.write([LedgerRecord("a", "e", ObjectState.LINKED, item_uuid="i1")])
    assert _targets(tmp_path, api, ledger).backfill == []
    del api.datasets[first.dataset_hashes[0]]
    replaced = _targets(tmp_path, api, ledger, datasets=["dataset", "added"])
    assert len(replaced.backfill) == 2
    assert replaced.reconciled["datasets_replaced"][0]["old"] == first.dataset_hashes[0]
    assert replaced.reconciled["datasets_added"][0]["title"] == "added"
    known = Resources.read(ledger.store, "base/ledger/unit/resources.json")
    assert known.complete_datasets == []  # until link succeeds
