"""End-to-end `encord_ingest__<name>` runs against moto S3 and the Encord emulator via dag.test()."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.dags.test_ingest_support import (
    asset_events,
    dataset_rows,
    folder_items,
    pipeline_config,
    print_durations,
    put_demo_media,
    run_dag,
    seed_integration,
    task_states,
    write_pipelines,
    xcom,
)

pytestmark = pytest.mark.timeout(300)
INTEGRATION = "test-aws"


@pytest.fixture
def s3_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_client: Any, moto_endpoint: str, encord_emulator: Any
) -> dict[str, Any]:
    s3_client.create_bucket(Bucket="media")
    s3_client.create_bucket(Bucket="staging")
    seed_integration(encord_emulator, INTEGRATION, "aws", endpoint_url=moto_endpoint)
    config = pipeline_config("s3t", "s3", "media", "aws_test", "s3://staging/encord", INTEGRATION)
    write_pipelines(tmp_path, monkeypatch, config)
    return config


def _put(s3_client: Any) -> Any:
    return lambda key, data: s3_client.put_object(Bucket="media", Key=key, Body=data)


def test_s3_run_registers_links_and_reports(
    s3_pipeline: dict[str, Any], s3_client: Any, encord_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from encord_provider.operators.ingest import EncordRegisterChunkOperator

    put_demo_media(_put(s3_client))
    deferred: list[Any] = []
    real_defer = EncordRegisterChunkOperator.defer
    monkeypatch.setattr(
        EncordRegisterChunkOperator, "defer", lambda self, **kw: deferred.append(kw) or real_defer(self, **kw)
    )
    dag_run = run_dag("encord_ingest__s3t")
    print_durations(dag_run)
    assert dag_run.state == "success", task_states(dag_run)
    # Short jobs finish during the register task's own wait: no deferral, so no apache/airflow#71580.
    assert deferred == []
    # 4 images + pdf + video + text + one DICOM series = 8 entries -> 3 chunks of <= 3
    assert len([k for k in task_states(dag_run) if k[0] == "register"]) == 3

    items = folder_items(encord_client, s3_pipeline["folder"]["name"])
    assert sorted(i.name for i in items) == sorted(
        ["in/img_0.jpg", "in/img_1.jpg", "in/img_2.jpg", "in/img_3.jpg", "in/doc.pdf", "in/clip.mp4",
         "in/notes.txt", "in/ct"]
    )  # fmt: skip
    rows = dataset_rows(encord_client, dag_run)
    assert {str(r.backing_item_uuid) for r in rows} == {str(i.uuid) for i in items}

    summary = xcom(dag_run, "finalize")
    assert summary["states"] == {"linked": 10, "rejected": 1}
    report_key = summary["report_uri"].removeprefix("s3://staging/")
    report = json.loads(s3_client.get_object(Bucket="staging", Key=report_key)["Body"].read())
    assert [(e["key"], e["state"]) for e in report["errors"]] == [("in/archive.zip", "rejected")]
    assert "unsupported file type '.zip'" in report["errors"][0]["error"]
    assert report["ledger_totals"] == {"linked": 10, "rejected": 1}
    assert report["newly"] == {
        "registered": 10,
        "linked": 10,
        "dataset_rows_added": 8,
        "rejected": 0,
        "failed": 0,
    }
    (event,) = asset_events(dag_run)  # the Asset event carries the counts
    assert {k: event[k] for k in ("registered", "linked", "dataset_rows_added")} == {
        "registered": 10,
        "linked": 10,
        "dataset_rows_added": 8,
    }
    assert event["report_uri"] == summary["report_uri"]


def test_s3_rerun_registers_nothing_twice(
    s3_pipeline: dict[str, Any], s3_client: Any, encord_client: Any
) -> None:
    put_demo_media(_put(s3_client))
    assert run_dag("encord_ingest__s3t").state == "success"
    before = {i.uuid for i in folder_items(encord_client, s3_pipeline["folder"]["name"])}

    again = run_dag("encord_ingest__s3t")
    assert again.state == "success"
    assert not [k for k in task_states(again) if k[0] == "register" and task_states(again)[k] == "success"]
    assert {i.uuid for i in folder_items(encord_client, s3_pipeline["folder"]["name"])} == before
    assert xcom(again, "finalize")["states"] == {}
    assert task_states(again)[("announce", -1)] == "skipped" and asset_events(again) == []  # nothing new

    s3_client.put_object(Bucket="media", Key="in/late.jpg", Body=_jpeg())
    third = run_dag("encord_ingest__s3t")
    assert third.state == "success"
    assert xcom(third, "finalize")["states"] == {"linked": 1}
    assert [e["registered"] for e in asset_events(third)] == [1]
    assert len(folder_items(encord_client, s3_pipeline["folder"]["name"])) == len(before) + 1
    assert len(dataset_rows(encord_client, third)) == len(before) + 1


def _jpeg() -> bytes:
    from demo.media import image_bytes

    return image_bytes(8, 8, (1, 2, 3))
