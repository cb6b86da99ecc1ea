"""The pipeline's run controls and lineage, in `dag.test()` runs against moto S3 and the Encord emulator:

- `approval: {above_objects: N}`: a plan above N waits in Airflow's Required Actions until a person answers
  (answered here through the HITL API's own handler); Reject registers nothing and the next run asks again;
  a plan within N runs straight through.
- `approval: {above_deletions: N}` with `bucket_changes: {deleted: archive}`: archiving more than N deleted
  objects' items waits the same way; Approve archives exactly those, Reject archives nothing (the run goes
  on, reports them, and the next run asks again); within N they are archived without asking.
- hook lineage: source prefix -> Encord folder -> dataset, as the collector sees it.
- `deadline:` puts an Airflow DeadlineAlert on the DAG (and `export.deadline` / `agents_deadline` on the
  export and agents DAGs); the DAG runs under dag.test() (tests.dag_runs.run_dag_test).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.dag_runs import deadline_alerts_decoded
from tests.dags.test_ingest_support import (
    assert_exactly_once,
    folder_items,
    ledger_records,
    load_dag,
    pipeline_config,
    put_demo_media,
    run_dag,
    seed_integration,
    task_states,
    write_pipelines,
    xcom,
)
from tests.lineage_fixtures import hook_lineage, lineage_uris

__all__ = ["hook_lineage"]  # the fixture, imported for pytest
pytestmark = pytest.mark.timeout(600)
INTEGRATION = "test-aws-controls"
DAG_ID = "encord_ingest__ctl"
OBJECTS = 10  # put_demo_media: 4 images, pdf, video, text, 3 DICOM slices (+ one rejected .zip)


@pytest.fixture
def buckets(s3_client: Any, moto_endpoint: str, encord_emulator: Any) -> Any:
    for bucket in ("media", "staging"):
        s3_client.create_bucket(Bucket=bucket)
    seed_integration(encord_emulator, INTEGRATION, "aws", endpoint_url=moto_endpoint)
    put_demo_media(lambda key, data: s3_client.put_object(Bucket="media", Key=key, Body=data))
    return s3_client


def _pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> dict[str, Any]:
    config = pipeline_config(
        "ctl", "s3", "media", "aws_test", "s3://staging/encord", INTEGRATION, **overrides
    )
    write_pipelines(tmp_path, monkeypatch, config)
    return config


class _Reviewer:
    """Answers the run's approval request once it waits, as a person in the Required Actions page would."""

    def __init__(self, option: str, on_asked: Any = None, task_id: str = "approve") -> None:
        self.option, self.on_asked, self.task_id = option, on_asked, task_id
        self.asked: dict[str, Any] = {}
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Reviewer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join(timeout=5)
        if self.error is not None:
            raise AssertionError(f"the reviewer could not answer: {self.error!r}") from self.error

    def _run(self) -> None:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import select

        while not self.asked and not self.done.is_set():  # pytest's timeout bounds the wait
            with create_session() as session:
                query = select(TaskInstance).where(
                    TaskInstance.dag_id == DAG_ID,
                    TaskInstance.task_id == self.task_id,
                    TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
                )
                ti = session.scalars(query).first()
                if ti is not None:
                    try:
                        self._answer(session, ti)
                    except BaseException as err:  # fail the task, so dag.test() ends and the test reports it
                        self.error, self.asked = err, {"error": repr(err)}
                        session.rollback()
                        ti = session.get(TaskInstance, ti.id)
                        ti.state = TaskInstanceState.FAILED
            time.sleep(0.3)

    def _answer(self, session: Any, ti: Any) -> None:
        from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
        from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
        from airflow.models.hitl import HITLDetail
        from sqlalchemy import select

        detail = session.scalars(select(HITLDetail).where(HITLDetail.ti_id == ti.id)).one()
        self.asked = {"subject": detail.subject, "body": detail.body, "options": list(detail.options)}
        if self.on_asked:
            self.asked["while_waiting"] = self.on_asked()
        update_hitl_detail(
            dag_id=ti.dag_id, dag_run_id=ti.run_id, task_id=ti.task_id,
            update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[self.option]),
            user=_User(), session=session,
        )  # fmt: skip


class _User:
    def get_id(self) -> str:
        return "reviewer-1"

    def get_name(self) -> str:
        return "Reviewer One"


def test_a_big_plan_waits_for_approval_then_registers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buckets: Any, encord_client: Any
) -> None:
    config = _pipeline(tmp_path, monkeypatch, approval={"above_objects": OBJECTS - 1})
    folder = config["folder"]["name"]
    with _Reviewer("Approve", on_asked=lambda: len(_items(encord_client, folder))) as reviewer:
        dag_run = run_dag(DAG_ID)
    assert dag_run.state == "success", task_states(dag_run)
    assert reviewer.asked["subject"] == f"Register {OBJECTS} objects for pipeline ctl?"
    assert "approval.above_objects is 9" in reviewer.asked["body"] and "4 image" in reviewer.asked["body"]
    assert reviewer.asked["options"] == ["Approve", "Reject"]
    assert reviewer.asked["while_waiting"] == 0  # nothing was registered before the answer
    assert xcom(dag_run, "approve")["chosen_options"] == ["Approve"]
    assert len(folder_items(encord_client, folder)) == 8  # entries: the DICOM series is one item


def test_reject_registers_nothing_and_the_next_run_asks_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buckets: Any, encord_client: Any
) -> None:
    config = _pipeline(tmp_path, monkeypatch, approval={"above_objects": 3})
    with _Reviewer("Reject") as reviewer:
        rejected = run_dag(DAG_ID)
    assert reviewer.asked and rejected.state == "success", task_states(rejected)
    states = task_states(rejected)
    assert states[("approve", -1)] == "success" and states[("release_lease", -1)] == "success"
    assert {states[(task, -1)] for task in ("register", "link", "finalize", "announce")} == {"skipped"}
    assert _items(encord_client, config["folder"]["name"]) == []
    with _Reviewer("Approve") as again:
        approved = run_dag(DAG_ID)
    assert again.asked["subject"] == f"Register {OBJECTS} objects for pipeline ctl?"
    assert approved.state == "success" and xcom(approved, "finalize")["states"]["linked"] == OBJECTS


def test_a_plan_within_the_limit_runs_straight_through_and_reports_lineage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buckets: Any, encord_client: Any, hook_lineage: Any
) -> None:
    _pipeline(tmp_path, monkeypatch, approval={"above_objects": OBJECTS})
    dag_run = run_dag(DAG_ID)  # no reviewer: a wait would hang until the timeout
    assert dag_run.state == "success", task_states(dag_run)
    assert xcom(dag_run, "approve") == {"asked": False, "approved": True, "objects": OBJECTS}
    targets = xcom(dag_run, "prepare")
    folder = f"encord://folder/{targets['folder_uuid']}"
    datasets = {f"encord://dataset/{h}" for h in targets["dataset_hashes"]}
    inputs, outputs = lineage_uris(hook_lineage)
    assert inputs == {"s3://media/in", folder}  # the Amazon provider drops the trailing slash
    assert outputs == {folder, *datasets}


def test_deadline_config_puts_a_deadline_alert_on_the_dag_which_runs_under_dag_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buckets: Any
) -> None:
    from airflow.models.deadline_alert import DeadlineAlert as StoredAlert
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineReference
    from airflow.utils.session import create_session
    from sqlalchemy import select

    _pipeline(tmp_path, monkeypatch, deadline={"after": "2h", "callback_kwargs": {"channel": "#ml-data"}})
    dag = load_dag(DAG_ID)
    (alert,) = dag.deadline
    assert alert.interval == timedelta(hours=2)
    assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert isinstance(alert.callback, AsyncCallback)
    assert alert.callback.path == "encord_provider.deadlines.log_missed_deadline"
    assert alert.callback.kwargs == {
        "channel": "#ml-data",
        "pipeline": "ctl",
        "dag_id": DAG_ID,
        "after": 7200.0,
    }
    # Airflow 3.3.2's dag.test() alone raises at the end of a successful run of a DAG with an alert
    # (apache/airflow#73428); tests.dag_runs.deadline_alerts_decoded (in run_dag_test) decodes the alert there.
    with deadline_alerts_decoded() as decoded:
        dag_run = dag.test()
    assert dag_run.state == "success", task_states(dag_run)
    assert [a.reference_class.__name__ for a in decoded] == ["DagRunQueuedAtDeadline"]
    with create_session() as session:  # what the dag processor stores for the scheduler
        stored = session.scalars(select(StoredAlert)).all()
    assert len(stored) == 1 and "encord_provider.deadlines.log_missed_deadline" in str(stored[0].callback_def)


def test_export_and_agents_dags_carry_their_deadline_alerts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    import yaml

    project = {"name": "cats", "project_hash": "p1", "agents_deadline": {"after": "30m"},
               "agents": [{"stage": "A", "agent": "agents.pre_label:pre_label"}],
               "export": {"uri": "s3://warehouse", "deadline": {"after": "1h", "reference": "logical_date"}}}  # fmt: skip
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump({"pipelines": [], "projects": [project]}), encoding="utf-8")
    monkeypatch.setenv("ENCORD_PIPELINES_FILE", str(path))
    import encord_agent_stages
    import encord_export

    (export_alert,) = importlib.reload(encord_export).encord_export__cats.deadline
    (agents_alert,) = importlib.reload(encord_agent_stages).encord_agents__cats.deadline
    assert (export_alert.interval, agents_alert.interval) == (timedelta(hours=1), timedelta(minutes=30))
    assert export_alert.callback.kwargs == {
        "pipeline": "cats",
        "dag_id": "encord_export__cats",
        "after": 3600.0,
    }
    assert agents_alert.callback.kwargs["dag_id"] == "encord_agents__cats"


ARCHIVE_DELETIONS = {"bucket_changes": {"deleted": "archive"}}
DELETED = ("in/img_1.jpg", "in/img_3.jpg")


def _delete_objects(s3_client: Any) -> None:
    for key in DELETED:
        s3_client.delete_object(Bucket="media", Key=key)


def _archived(client: Any, records: dict[str, Any]) -> set[str]:
    """The items (of `records`) tagged as deleted from the bucket in Encord's client metadata."""
    items = {r.item_uuid for r in records.values() if r.item_uuid}
    return {
        item for item in items
        if "deleted_from_bucket" in ((client.get_storage_item(item).client_metadata or {}).get("encord_ingest") or {})
    }  # fmt: skip


def _report(s3_client: Any, dag_run: Any) -> dict[str, Any]:
    import json

    key = xcom(dag_run, "finalize")["report_uri"].removeprefix("s3://staging/")
    return dict(json.loads(s3_client.get_object(Bucket="staging", Key=key)["Body"].read()))


def _first_run_then_delete(config: dict[str, Any], s3_client: Any) -> dict[str, Any]:
    """Register everything (no deletions yet: no question), then delete two registered images."""
    first = run_dag(DAG_ID)
    assert first.state == "success", task_states(first)
    assert xcom(first, "approve_archive") == {"asked": False, "approved": True, "deletions": 0}
    before = dict(ledger_records(config).items())
    _delete_objects(s3_client)
    return before


def test_archiving_deletions_waits_for_approval_then_archives_exactly_those(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buckets: Any, encord_client: Any
) -> None:
    config = _pipeline(tmp_path, monkeypatch, approval={"above_deletions": 1}, **ARCHIVE_DELETIONS)
    before = _first_run_then_delete(config, buckets)
    with _Reviewer("Approve", lambda: _archived(encord_client, before), "approve_archive") as reviewer:
        second = run_dag(DAG_ID)
    assert second.state == "success", task_states(second)
    assert reviewer.asked["subject"] == "Archive 2 deleted objects for pipeline ctl?"
    assert (
        "approval.above_deletions is 1" in reviewer.asked["body"]
        and "`in/img_1.jpg`" in reviewer.asked["body"]
    )
    assert reviewer.asked["while_waiting"] == set()  # nothing archived before the answer
    assert _archived(encord_client, before) == {before[key].item_uuid for key in DELETED}
    after = ledger_records(config)
    assert {key: str(after[key].state) for key in DELETED} == dict.fromkeys(DELETED, "deleted")
    deleted = _report(buckets, second)["bucket_changes"]["deleted"]
    assert {(d["key"], d["action"]) for d in deleted} == {
        (k, "archived (item metadata tagged)") for k in DELETED
    }
    assert assert_exactly_once(buckets, encord_client, config).registered_twice == 0


def test_a_rejected_archive_archives_nothing_and_the_next_run_asks_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buckets: Any, encord_client: Any
) -> None:
    config = _pipeline(tmp_path, monkeypatch, approval={"above_deletions": 0}, **ARCHIVE_DELETIONS)
    before = _first_run_then_delete(config, buckets)
    with _Reviewer("Reject", task_id="approve_archive") as reviewer:
        rejected = run_dag(DAG_ID)
    assert reviewer.asked and rejected.state == "success", task_states(rejected)
    states = task_states(rejected)
    assert (states[("archive", -1)], states[("link", -1)], states[("finalize", -1)]) == (
        "skipped",
        "success",
        "success",
    )
    assert _archived(encord_client, before) == set()
    kept = ledger_records(config)
    assert {key: str(kept[key].state) for key in DELETED} == dict.fromkeys(DELETED, "linked")
    deleted = _report(buckets, rejected)["bucket_changes"]["deleted"]
    assert {d["key"] for d in deleted} == set(DELETED)
    assert {d["action"] for d in deleted} == {
        "not archived: approval rejected or unanswered (offered again next run)"
    }
    with _Reviewer("Approve", task_id="approve_archive") as again:
        approved = run_dag(DAG_ID)
    assert approved.state == "success", task_states(approved)
    assert again.asked["subject"] == "Archive 2 deleted objects for pipeline ctl?"
    assert _archived(encord_client, before) == {before[key].item_uuid for key in DELETED}


def test_archiving_within_the_limit_runs_straight_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buckets: Any, encord_client: Any
) -> None:
    config = _pipeline(tmp_path, monkeypatch, approval={"above_deletions": 2}, **ARCHIVE_DELETIONS)
    before = _first_run_then_delete(config, buckets)
    second = run_dag(DAG_ID)  # no reviewer: a wait would hang until the timeout
    assert second.state == "success", task_states(second)
    assert xcom(second, "approve_archive") == {"asked": False, "approved": True, "deletions": 2}
    assert xcom(second, "archive") == {"items_tagged": 2, "records": 2}
    assert _archived(encord_client, before) == {before[key].item_uuid for key in DELETED}
    dry = run_dag(DAG_ID, dry_run=True)  # a dry run asks nothing and archives nothing
    assert dry.state == "success" and xcom(dry, "approve_archive") == {"asked": False, "approved": True}


def _items(client: Any, folder_name: str) -> list[Any]:
    """The folder's items, or [] while the folder does not exist."""
    folders = [f for f in client.find_storage_folders(search=folder_name) if f.name == folder_name]
    return list(folders[0].list_items()) if folders else []
