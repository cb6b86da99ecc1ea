"""Exactly once under retries, lost responses, concurrent runs and changes on either side (issue 9).

Every scenario runs `encord_ingest__<name>` through `dag.test()` against moto S3 and the Encord emulator,
then asserts `check_exactly_once`: the bucket's objects = registered once ∪ rejected with a reason, the
folder holds no URL twice, each dataset holds each item once, and the ledger agrees with Encord.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dags.test_ingest_support import (
    ROOT,
    assert_exactly_once,
    delete_dataset_in_encord,
    delete_folder_in_encord,
    emulator_settings,
    ledger_records,
    pipeline_config,
    put_demo_media,
    run_dag,
    seed_integration,
    staging_json,
    task_states,
    upload_jobs_of,
    write_pipelines,
    xcom,
)

pytestmark = pytest.mark.timeout(400)
INTEGRATION = "eo-aws"
DAG_ID = "encord_ingest__eo"
OBJECTS = 11  # put_demo_media: 10 registered (8 entries) + archive.zip rejected
ENTRIES = 8


@pytest.fixture
def scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_client: Any, moto_endpoint: str, encord_emulator: Any
) -> Iterator[Callable[..., dict[str, Any]]]:
    """`scenario(**overrides)` writes the pipelines file (media in s3://media/in/) and returns the config."""
    s3_client.create_bucket(Bucket="media")
    s3_client.create_bucket(Bucket="staging")
    seed_integration(encord_emulator, INTEGRATION, "aws", endpoint_url=moto_endpoint)
    put_demo_media(lambda key, data: s3_client.put_object(Bucket="media", Key=key, Body=data))

    def make(**overrides: Any) -> dict[str, Any]:
        config = pipeline_config(
            "eo", "s3", "media", "aws_test", "s3://staging/encord", INTEGRATION, **overrides
        )
        write_pipelines(tmp_path, monkeypatch, config)
        return config

    yield make
    encord_emulator.admin_post("/admin/faults", {"rules": []})
    emulator_settings(encord_emulator, upload_job_processing_seconds=0)


def _folder_uuid(s3_client: Any, config: dict[str, Any]) -> str:
    return str(staging_json(s3_client, "/resources.json")["folders"][config["folder"]["name"]])


def _ok(dag_run: Any) -> Any:
    assert dag_run.state == "success", task_states(dag_run)
    return dag_run


def test_retry_after_a_kill_right_after_job_start_finds_the_running_job(
    scenario: Callable[..., dict[str, Any]], s3_client: Any, encord_client: Any, encord_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The first try dies after Encord accepted its job, before the job id was recorded; the job takes
    longer than the retry delay. The retry finds the job's items instead of starting a second job."""
    from encord_provider.encord_api import EncordApi

    config = scenario(task_retries=1, retry_delay_seconds=1, chunking={"max_entries": 8},
                      registration={"unknown_job_settle_minutes": 0.25})  # fmt: skip
    emulator_settings(encord_emulator, upload_job_processing_seconds=4)
    real_start = EncordApi.start_upload_job
    killed: list[str] = []

    def start_then_die(self: EncordApi, *args: Any, **kwargs: Any) -> str:
        job_id = real_start(self, *args, **kwargs)
        if not killed:
            killed.append(job_id)
            raise SystemExit("worker killed right after the upload job started")
        return job_id

    monkeypatch.setattr(EncordApi, "start_upload_job", start_then_die)
    dag_run = _ok(run_dag(DAG_ID))
    (register,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == "register"]
    assert register.try_number == 2  # the retry did the work
    jobs = upload_jobs_of(encord_emulator, _folder_uuid(s3_client, config))
    assert [job["uuid"] for job in jobs] == killed  # one chunk, one job: the killed try's
    tally = assert_exactly_once(s3_client, encord_client, config)
    assert (tally.registered, tally.rejected, tally.registered_twice, tally.lost) == (OBJECTS - 1, 1, 0, 0)


def test_lost_job_start_response_does_not_start_a_second_job(
    scenario: Callable[..., dict[str, Any]], s3_client: Any, encord_client: Any, encord_emulator: Any
) -> None:
    """Chunk 1: Encord starts the job and the client sees a 502 (a lost response): the start is not retried,
    and the entries that job registers are found in the folder and linked. Chunk 2: a 503 refused before
    anything happened looks the same to the client: once the folder stayed without its entries for the
    settle time, they go into a new job. Either way Encord holds one job per chunk."""
    config = scenario(registration={"unknown_job_settle_minutes": 0.1})
    emulator_settings(encord_emulator, upload_job_processing_seconds=1)
    start = "^POST /v2/public/storage/folders/[^/]+/data-upload-jobs$"
    encord_emulator.admin_post("/admin/faults", {"rules": [
        {"pattern": start, "mode": "lost_response", "error_rate": 1.0, "status": 502, "max_faults": 1},
        {"pattern": start, "error_rate": 1.0, "status": 503, "max_faults": 1},
    ]})  # fmt: skip
    dag_run = _ok(run_dag(DAG_ID))
    lost, refused = encord_emulator.admin_get("/admin/faults")["rules"]
    assert (lost["injected"], refused["injected"]) == (1, 1)
    chunks = len([k for k in task_states(dag_run) if k[0] == "register"])
    # every chunk one job; the refused start left none, so its chunk's new job is its only one
    assert len(upload_jobs_of(encord_emulator, _folder_uuid(s3_client, config))) == chunks == 3
    tally = assert_exactly_once(s3_client, encord_client, config)
    assert (tally.registered, tally.registered_twice, tally.lost) == (OBJECTS - 1, 0, 0)


def _run_in_child(dag_id: str, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.dags.ingest_child", dag_id, str(out)], cwd=ROOT)


def _two_runs_at_once(tmp_path: Path) -> list[dict[str, Any]]:
    outs = [tmp_path / "run-a.json", tmp_path / "run-b.json"]
    children = [_run_in_child(DAG_ID, out) for out in outs]
    for child in children:
        assert child.wait(300) == 0
    return [json.loads(out.read_text()) for out in outs]


def test_two_runs_at_once_register_once_in_one_folder_and_one_dataset(
    scenario: Callable[..., dict[str, Any]], s3_client: Any, encord_client: Any, encord_emulator: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    """A scheduled run and an event-driven run of the pipeline start together from two schedulers (two
    processes, each with its own Airflow database, so `max_active_runs` cannot help). It is also both
    runs' first: without the lease they would create twin folders and datasets, and register every object
    twice. Within one deployment the single DAG per pipeline keeps them apart anyway (test_ingest_dags)."""
    config = scenario(trigger={"mode": "polling", "poll_interval_seconds": 60})
    emulator_settings(encord_emulator, upload_job_processing_seconds=1)
    runs = _two_runs_at_once(tmp_path)
    assert [run["state"] for run in runs] == ["success", "success"], runs
    folders = [f for f in encord_client.find_storage_folders(search=config["folder"]["name"])]
    assert len(folders) == 1
    title = config["datasets"][0]["title"]
    assert len(list(encord_client.get_datasets(title_eq=title))) == 1
    assert {run["prepare"]["folder_uuid"] for run in runs} == {str(folders[0].uuid)}
    assert len({run["prepare"]["lease_token"] for run in runs}) == 2  # each took the lease in turn
    assert sorted(sum(run["finalize"]["states"].values()) for run in runs) == [0, OBJECTS]
    tally = assert_exactly_once(s3_client, encord_client, config)
    assert (tally.registered, tally.registered_twice, tally.lost) == (OBJECTS - 1, 0, 0)


def test_folder_deleted_between_runs_is_registered_again(
    scenario: Callable[..., dict[str, Any]], s3_client: Any, encord_client: Any, encord_emulator: Any
) -> None:
    config = scenario()
    _ok(run_dag(DAG_ID))
    old_folder = _folder_uuid(s3_client, config)
    assert delete_folder_in_encord(encord_client, old_folder) == ENTRIES
    second = _ok(run_dag(DAG_ID))
    new_folder = _folder_uuid(s3_client, config)
    assert new_folder != old_folder
    replaced = xcom(second, "prepare")["reconciled"]["folder_replaced"]
    assert (replaced["old"], replaced["new"], replaced["requeued"]) == (old_folder, new_folder, OBJECTS - 1)
    report = staging_json(s3_client, f"{second.run_id.replace(':', '_').replace('+', '_')}/report.json")
    assert report["reconciled"]["folder_replaced"]["requeued"] == OBJECTS - 1
    tally = assert_exactly_once(s3_client, encord_client, config)
    assert (tally.registered, tally.registered_twice, tally.lost) == (OBJECTS - 1, 0, 0)


def test_deleted_and_added_datasets_receive_every_item(
    scenario: Callable[..., dict[str, Any]], s3_client: Any, encord_client: Any, encord_emulator: Any
) -> None:
    """Between two runs the dataset is deleted in Encord and a second dataset is added to the config: the
    first is recreated, and both receive every item registered before (nothing is registered again)."""
    config = scenario()
    first = _ok(run_dag(DAG_ID))
    (old_hash,) = xcom(first, "prepare")["dataset_hashes"]
    delete_dataset_in_encord(encord_emulator, old_hash)
    added = f"added-{uuid.uuid4().hex[:8]}"
    config = scenario(folder=config["folder"], datasets=[*config["datasets"], {"title": added}])
    second = _ok(run_dag(DAG_ID))
    prepared = xcom(second, "prepare")
    recreated, added_hash = prepared["dataset_hashes"]
    assert recreated != old_hash
    assert prepared["reconciled"]["datasets_replaced"] == [{"title": config["datasets"][0]["title"],
                                                            "old": old_hash, "new": recreated}]  # fmt: skip
    assert prepared["reconciled"]["datasets_added"] == [{"title": added, "hash": added_hash}]
    assert xcom(second, "link")["datasets"] == {recreated: ENTRIES, added_hash: ENTRIES}
    assert not [k for k, s in task_states(second).items() if k[0] == "register" and s == "success"]
    tally = assert_exactly_once(s3_client, encord_client, config)
    assert (tally.registered, tally.registered_twice) == (OBJECTS - 1, 0)


def _report(s3_client: Any, dag_run: Any) -> dict[str, Any]:
    return staging_json(s3_client, f"{dag_run.run_id.replace(':', '_').replace('+', '_')}/report.json")


def _change_bucket(s3_client: Any) -> str:
    """Overwrite in/img_0.jpg (new ETag) and delete in/img_2.jpg; returns the new ETag."""
    from demo.media import image_bytes

    s3_client.delete_object(Bucket="media", Key="in/img_2.jpg")
    put = s3_client.put_object(Bucket="media", Key="in/img_0.jpg", Body=image_bytes(24, 24, (250, 0, 0)))
    return str(put["ETag"]).strip('"')


def test_overwritten_and_deleted_objects_are_reported_by_default(
    scenario: Callable[..., dict[str, Any]], s3_client: Any, encord_client: Any
) -> None:
    config = scenario()
    _ok(run_dag(DAG_ID))
    before = ledger_records(config)
    new_etag = _change_bucket(s3_client)
    second = _ok(run_dag(DAG_ID))
    changes = _report(s3_client, second)["bucket_changes"]
    (overwritten,) = changes["overwritten"]
    assert (overwritten["key"], overwritten["new_etag"], overwritten["action"]) == (
        "in/img_0.jpg",
        new_etag,
        "reported",
    )
    (deleted,) = changes["deleted"]
    assert (deleted["key"], deleted["item"], deleted["action"]) == ("in/img_2.jpg", before["in/img_2.jpg"].item_uuid,
                                                                    "reported")  # fmt: skip
    assert xcom(second, "finalize")["states"] == {}  # nothing registered again
    after = ledger_records(config)
    assert (str(after["in/img_0.jpg"].state), after["in/img_0.jpg"].etag) == ("linked", new_etag)
    assert (str(after["in/img_2.jpg"].state), after["in/img_2.jpg"].item_uuid) == (
        "deleted",
        before["in/img_2.jpg"].item_uuid,
    )
    for key in ("in/img_0.jpg", "in/img_2.jpg"):
        assert "encord_ingest" not in (
            encord_client.get_storage_item(before[key].item_uuid).client_metadata or {}
        )
    assert_exactly_once(s3_client, encord_client, config)


def test_overwritten_objects_get_item_metadata_and_deleted_ones_are_archived(
    scenario: Callable[..., dict[str, Any]], s3_client: Any, encord_client: Any
) -> None:
    config = scenario(bucket_changes={"overwritten": "update_metadata", "deleted": "archive"})
    _ok(run_dag(DAG_ID))
    before = ledger_records(config)
    new_etag = _change_bucket(s3_client)
    second = _ok(run_dag(DAG_ID))
    changes = _report(s3_client, second)["bucket_changes"]
    assert [c["action"] for c in changes["overwritten"]] == ["item metadata updated"]
    assert [c["action"] for c in changes["deleted"]] == ["archived (item metadata tagged)"]
    overwritten = encord_client.get_storage_item(before["in/img_0.jpg"].item_uuid)
    assert overwritten.client_metadata["encord_ingest"]["source"]["etag"] == new_etag
    archived = encord_client.get_storage_item(before["in/img_2.jpg"].item_uuid)
    assert "deleted_from_bucket" in archived.client_metadata["encord_ingest"]
    after = ledger_records(config)
    assert after["in/img_0.jpg"].item_uuid == before["in/img_0.jpg"].item_uuid  # same item, links kept
    tally = assert_exactly_once(s3_client, encord_client, config)
    assert tally.registered_twice == 0
