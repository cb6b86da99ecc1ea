"""Crash, retry and fault behaviour of `encord_ingest__<name>`: nothing registered twice, nothing lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dags.test_ingest_support import (
    dataset_rows,
    folder_items,
    pipeline_config,
    put_demo_media,
    run_dag,
    seed_integration,
    task_states,
    write_pipelines,
    xcom,
)

pytestmark = pytest.mark.timeout(400)
INTEGRATION = "test-aws"
DAG_ID = "encord_ingest__rec"


@pytest.fixture
def pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_client: Any, moto_endpoint: str, encord_emulator: Any
) -> dict[str, Any]:
    s3_client.create_bucket(Bucket="media")
    s3_client.create_bucket(Bucket="staging")
    seed_integration(encord_emulator, INTEGRATION, "aws", endpoint_url=moto_endpoint)
    config = pipeline_config("rec", "s3", "media", "aws_test", "s3://staging/encord", INTEGRATION,
                             ledger={"max_attempts": 2})  # fmt: skip
    write_pipelines(tmp_path, monkeypatch, config)
    return config


def _put(s3_client: Any) -> Any:
    return lambda key, data: s3_client.put_object(Bucket="media", Key=key, Body=data)


def test_crash_between_register_and_link(
    pipeline: dict[str, Any], s3_client: Any, encord_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import encord_provider.operators.ingest as ingest

    put_demo_media(_put(s3_client))

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated worker crash before linking")

    with monkeypatch.context() as patch:
        patch.setattr(ingest, "link_ready_items", crash)
        first = run_dag(DAG_ID)
    assert first.state == "failed"
    assert task_states(first)[("link", -1)] == "failed"
    registered = {i.uuid for i in folder_items(encord_client, pipeline["folder"]["name"])}
    assert len(registered) == 8
    assert dataset_rows(encord_client, first) == []

    second = run_dag(DAG_ID)
    assert second.state == "success", task_states(second)
    assert not [k for k, state in task_states(second).items() if k[0] == "register" and state == "success"]
    assert {i.uuid for i in folder_items(encord_client, pipeline["folder"]["name"])} == registered
    assert {r.backing_item_uuid for r in dataset_rows(encord_client, second)} == registered
    assert xcom(second, "finalize")["report_uri"]


def test_unreadable_object_is_retried_alone_then_rejected(
    pipeline: dict[str, Any], s3_client: Any, encord_client: Any
) -> None:
    put = _put(s3_client)
    put_demo_media(put)
    put("in/broken.jpg", b"this is not a jpeg")
    first = run_dag(DAG_ID)
    assert first.state == "success", task_states(first)
    report = xcom(first, "finalize")
    assert report["states"]["failed"] == 1

    second = run_dag(DAG_ID)
    assert second.state == "success"
    assert len([k for k in task_states(second) if k[0] == "register"]) == 1
    assert xcom(second, "finalize")["states"] == {"rejected": 1}  # max_attempts: 2

    third = run_dag(DAG_ID)
    assert not [k for k, state in task_states(third).items() if k[0] == "register" and state == "success"]
    assert len(folder_items(encord_client, pipeline["folder"]["name"])) == 8


def test_emulator_faults_are_survived(
    pipeline: dict[str, Any], s3_client: Any, encord_client: Any, encord_emulator: Any
) -> None:
    put_demo_media(_put(s3_client))
    encord_emulator.admin_post(
        "/admin/faults",
        {"seed": 7, "rules": [
            {"pattern": "^(GET|POST) /v2/public/storage", "error_rate": 0.3, "status": 503, "max_faults": 6},
            {"pattern": "^RPC dataset:", "error_rate": 0.5, "status": 429, "retry_after": 1, "max_faults": 3},
        ]},
    )  # fmt: skip
    try:
        dag_run = run_dag(DAG_ID)
        injected = encord_emulator.admin_get("/admin/faults")
    finally:
        encord_emulator.admin_post("/admin/faults", {"rules": []})
    assert dag_run.state == "success", task_states(dag_run)
    assert sum(rule_stats["injected"] for rule_stats in injected["rules"]) > 0, injected
    items = folder_items(encord_client, pipeline["folder"]["name"])
    assert len(items) == len({i.name for i in items}) == 8
    assert len(dataset_rows(encord_client, dag_run)) == 8


def test_dry_run_registers_nothing_and_reports_what_it_would(
    pipeline: dict[str, Any], s3_client: Any, encord_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import json
    import re

    from tests.dags.test_ingest_support import asset_events

    put_demo_media(_put(s3_client))
    with caplog.at_level("INFO"):
        dag_run = run_dag(DAG_ID, dry_run=True)
    assert dag_run.state == "success", task_states(dag_run)
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket="staging").get("Contents", [])]
    assert any("/dry-run/chunks/chunk-" in key for key in keys)
    assert not any("/ledger/rec/segments/" in key for key in keys)
    assert not [f for f in encord_client.find_storage_folders(search=pipeline["folder"]["name"])]
    summary = xcom(dag_run, "finalize")
    assert summary["report_uri"].endswith("/report.json")  # where the UI plugin finds every run's report
    report = json.loads(
        s3_client.get_object(Bucket="staging", Key=summary["report_uri"].removeprefix("s3://staging/"))[
            "Body"
        ].read()
    )
    assert report["dry_run"] is True
    would = report["would_register"]
    assert (would["objects"], would["entries"], report["would_reject"]) == (10, 8, 1)
    assert would["by_type"]["image"] == {"entries": 4, "objects": 4}
    assert would["by_type"]["dicom"] == {"entries": 1, "objects": 3}
    assert len(would["manifests"]) == 3 and all(u.startswith("s3://staging/") and "/dry-run/chunks/" in u
                                                  for u in would["manifests"])  # fmt: skip
    line = next(r.getMessage() for r in caplog.records if "DRY RUN" in r.getMessage())
    assert "would register 10 objects in 8 entries" in line and not re.search(r"\b0 objects", line)
    assert would["manifests"][0] in line
    assert task_states(dag_run)[("announce", -1)] == "skipped" and asset_events(dag_run) == []


def test_params_limit_the_run(pipeline: dict[str, Any], s3_client: Any, encord_client: Any) -> None:
    put_demo_media(_put(s3_client))
    dag_run = run_dag(DAG_ID, data_types=["image"], max_objects=3, chunk_size=2)
    assert dag_run.state == "success", task_states(dag_run)
    names = sorted(i.name for i in folder_items(encord_client, pipeline["folder"]["name"]))
    assert names == ["in/img_0.jpg", "in/img_1.jpg", "in/img_2.jpg"]
    assert len([k for k in task_states(dag_run) if k[0] == "register"]) == 2
