"""Sharded pipelines end to end (moto S3 + the Encord emulator, dag.test()): plan and link mapped per
shard, each shard in its own ledger, a failed shard retried alone, and an unsharded ledger split on the
first sharded run. Every run is checked with `check_exactly_once`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dags.test_ingest_support import (
    assert_exactly_once,
    folder_items,
    pipeline_config,
    put_demo_media,
    run_dag,
    seed_integration,
    task_states,
    write_pipelines,
    xcom,
)

pytestmark = pytest.mark.timeout(600)
INTEGRATION = "test-aws"
DAG_ID = "encord_ingest__shd"


@pytest.fixture
def scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_client: Any, moto_endpoint: str, encord_emulator: Any
) -> Any:
    s3_client.create_bucket(Bucket="media")
    s3_client.create_bucket(Bucket="staging")
    seed_integration(encord_emulator, INTEGRATION, "aws", endpoint_url=moto_endpoint)

    def configure(**overrides: Any) -> dict[str, Any]:
        config = pipeline_config(
            "shd", "s3", "media", "aws_test", "s3://staging/encord", INTEGRATION, **overrides
        )
        write_pipelines(tmp_path, monkeypatch, config)
        return config

    return configure


def _put(s3_client: Any) -> Any:
    return lambda key, data: s3_client.put_object(Bucket="media", Key=key, Body=data)


def _tries(dag_run: Any, task_id: str) -> dict[int, int]:
    return {ti.map_index: ti.try_number for ti in dag_run.get_task_instances() if ti.task_id == task_id}


def test_hash_shards_plan_alone_and_a_failed_shard_retries_alone(
    scenario: Any, s3_client: Any, encord_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import encord_provider.operators.ingest as steps

    config = scenario(shards={"hash": 3}, task_retries=1, retry_delay_seconds=1)
    for folder in ("a/", "b/", "c/"):
        put_demo_media(_put(s3_client), prefix=f"in/{folder}")
    real_plan_run, failed = steps.plan_run, []

    def plan_run_failing_once(*args: Any, **kwargs: Any) -> Any:
        shard = args[-1] if len(args) > 6 else kwargs.get("shard")
        if shard is not None and shard.id.startswith("h0001") and not failed:
            failed.append(shard.id)
            raise RuntimeError("worker lost while planning one shard")
        return real_plan_run(*args, **kwargs)

    monkeypatch.setattr(steps, "plan_run", plan_run_failing_once)
    dag_run = run_dag(DAG_ID)
    assert dag_run.state == "success", task_states(dag_run)
    assert failed == ["h0001-of-0003"]
    assert _tries(dag_run, "plan") == {0: 1, 1: 2, 2: 1}  # only the failed shard ran again
    assert len(_tries(dag_run, "link")) == 3
    tally = assert_exactly_once(s3_client, encord_client, config)
    assert tally.lost == 0 and tally.registered_twice == 0
    summary = xcom(dag_run, "finalize")
    assert summary["states"] == {"linked": 30, "rejected": 3}  # 3 x (10 objects + 1 unsupported file)

    again = run_dag(DAG_ID)  # a no-op rerun: nothing registered twice
    assert again.state == "success", task_states(again)
    assert not [k for k, s in task_states(again).items() if k[0] == "register" and s == "success"]
    assert_exactly_once(s3_client, encord_client, config)


def test_an_unsharded_ledger_is_split_on_the_first_derived_run(
    scenario: Any, s3_client: Any, encord_client: Any
) -> None:
    config = scenario()
    put_demo_media(_put(s3_client), prefix="in/dt=2026-01-01/")
    assert run_dag(DAG_ID).state == "success"
    before = {i.uuid for i in folder_items(encord_client, config["folder"]["name"])}
    assert len(before) == 8

    config = scenario(folder=config["folder"], datasets=config["datasets"], shards={"derive": "first_level"})
    put_demo_media(_put(s3_client), prefix="in/dt=2026-01-02/")
    s3_client.put_object(Bucket="media", Key="in/top.txt", Body=b"top level")
    second = run_dag(DAG_ID)
    assert second.state == "success", task_states(second)
    assert len(_tries(second, "plan")) == 3  # root + two dates
    split = xcom(second, "prepare")["reconciled"]["ledger_split"]
    assert split["records"] == 11 and split["to"]["kind"] == "derive"
    assert split["old_files_deleted"] >= 1  # the unsharded ledger's segments and snapshots, now superseded
    staged = [o["Key"] for o in s3_client.list_objects_v2(Bucket="staging").get("Contents", [])]
    old_ledger = f"/ledger/{config['name']}/"
    assert not [k for k in staged if old_ledger + "segments/" in k or old_ledger + "snapshots/" in k]
    assert [k for k in staged if old_ledger + "shards/" in k]
    after = {i.uuid for i in folder_items(encord_client, config["folder"]["name"])}
    assert before < after and len(after) == 8 + 8 + 1  # the first date's items were not registered again
    assert xcom(second, "finalize")["states"] == {"linked": 11, "rejected": 1}
    assert_exactly_once(s3_client, encord_client, config)


def test_a_sharded_pipeline_maps_plan_and_link_per_shard_group(scenario: Any) -> None:
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    from tests.dags.test_ingest_support import load_dag

    scenario(shards={"hash": 4})
    dag = load_dag(DAG_ID)
    assert {"shards", "plan", "batches", "register", "link"} <= set(dag.task_ids)
    assert all(isinstance(dag.get_task(t), MappedOperator) for t in ("plan", "register", "link"))
    assert not isinstance(dag.get_task("shards"), MappedOperator)


def _plan_summary(s3_client: Any, dag_run: Any, dry_run: bool = False) -> dict[str, Any]:
    import json

    key = xcom(dag_run, "finalize")["report_uri"].removeprefix("s3://staging/")
    report = json.loads(s3_client.get_object(Bucket="staging", Key=key)["Body"].read())
    return dict(report if dry_run else report["plan"])


def test_a_dry_run_before_the_split_reads_the_unsplit_ledger_and_sharded_runs_are_pruned(
    scenario: Any, s3_client: Any, encord_client: Any
) -> None:
    from datetime import UTC, datetime

    today = f"in/dt={datetime.now(UTC):%Y-%m-%d}/"
    source = {"cloud": "s3", "bucket": "media", "prefix": "in/", "conn_id": "aws_test",
              "listing": {"partitions": {"format": "dt=%Y-%m-%d/"}}}  # fmt: skip
    config = scenario(source=source)
    put_demo_media(_put(s3_client), prefix=today)
    assert run_dag(DAG_ID).state == "success"

    config = scenario(source=source, folder=config["folder"], datasets=config["datasets"], shards={"hash": 2})
    dry = run_dag(DAG_ID, dry_run=True)  # before the first sharded run: the shard ledgers are still empty
    assert dry.state == "success", task_states(dry)
    report = _plan_summary(s3_client, dry, dry_run=True)
    assert report["would_register"]["objects"] == 0 and report["already_known"] == 11, (
        report
    )  # 10 + 1 rejected
    assert report["bucket_changes"]["deleted_count"] == 0

    sharded = run_dag(DAG_ID)  # splits the ledger; pruned by the pipeline watermark, not the shards' (none)
    assert sharded.state == "success", task_states(sharded)
    scope = _plan_summary(s3_client, sharded)["listing"]["scope"]
    assert scope["full"] is False and "partitions from" in scope["reason"], scope
    assert_exactly_once(s3_client, encord_client, config)
