"""DAG shape, Params validation, bad pipeline files and event-driven schedules (no Encord calls)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dags.test_ingest_support import load_dag, pipeline_config, write_pipelines


def _config(**overrides: Any) -> dict[str, Any]:
    return pipeline_config("shape", "s3", "media", "aws_test", "s3://staging/encord", "x", **overrides)


def test_scheduled_dag_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_pipelines(tmp_path, monkeypatch, _config())
    dag = load_dag("encord_ingest__shape")
    assert set(dag.task_ids) == {
        "prepare",
        "plan",
        "register",
        "link",
        "finalize",
        "announce",
        "release_lease",
    }
    assert dag.timetable.expression == "0 2 * * *"
    assert dag.max_active_runs == 1
    assert set(dag.params) == {"prefix", "since", "dry_run", "data_types", "max_objects", "chunk_size"}
    outlets = dag.get_task("announce").outlets
    assert [o.uri for o in outlets] == ["encord://shape/ingested"]
    assert dag.get_task("finalize").outlets == []
    assert dag.get_task("release_lease").is_teardown


@pytest.mark.parametrize(
    "conf",
    [{"chunk_size": -1}, {"chunk_size": 20_000}, {"data_types": ["spreadsheet"]}, {"max_objects": "many"},
     {"dry_run": "yes"}, {"since": 5}],
)  # fmt: skip
def test_invalid_params_are_rejected_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, conf: dict[str, Any]
) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    write_pipelines(tmp_path, monkeypatch, _config())
    with pytest.raises(ParamValidationError):
        load_dag("encord_ingest__shape").test(run_conf=conf)


def test_bad_pipelines_file_is_an_import_error_naming_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bad = _config()
    del bad["source"]["bucket"]
    path = write_pipelines(tmp_path, monkeypatch, bad)
    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags" / "encord_ingest.py"))
    (message,) = bag.import_errors.values()
    assert f"{path}:" in message and "pipelines[0].source.bucket: Field required" in message


def _watchers(dag: Any) -> list[Any]:
    condition = dag.timetable.asset_condition
    assets = condition.objects if hasattr(condition, "objects") else [condition]
    return [watcher for asset in assets for watcher in asset.watchers]


def test_polling_pipeline_is_one_dag_on_cron_or_bucket_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scheduled, manual and event-driven runs share one DAG, so max_active_runs=1 keeps them apart."""
    from airflow.sdk import AssetOrTimeSchedule
    from airflow.serialization.serialized_objects import DagSerialization
    from encord_provider.triggers.bucket_poll import BucketPollTrigger

    write_pipelines(tmp_path, monkeypatch, _config(trigger={"mode": "polling", "poll_interval_seconds": 30}))
    dag = load_dag("encord_ingest__shape")
    assert isinstance(dag.timetable, AssetOrTimeSchedule) and dag.max_active_runs == 1
    assert dag.timetable.timetable.expression == "0 2 * * *"
    (watcher,) = _watchers(dag)
    assert isinstance(watcher.trigger, BucketPollTrigger) and watcher.trigger.poll_interval == 30
    blob = json.dumps(DagSerialization.to_dict(dag))
    assert "encord_provider.triggers.bucket_poll.BucketPollTrigger" in blob
    with pytest.raises(AttributeError):
        load_dag("encord_ingest_events__shape")  # no twin DAG any more


def test_s3_events_pipeline_watches_sqs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    queue = "http://127.0.0.1:1/123456789012/uploads"
    write_pipelines(tmp_path, monkeypatch, _config(trigger={"mode": "s3_events", "sqs_queue_url": queue}))
    dag = load_dag("encord_ingest__shape")
    from airflow.serialization.serialized_objects import DagSerialization

    blob = json.dumps(DagSerialization.to_dict(dag))
    assert "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger" in blob and queue in blob


def test_event_only_pipeline_is_scheduled_by_its_asset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pipelines(tmp_path, monkeypatch, _config(schedule=None, trigger={"mode": "polling"}))
    dag = load_dag("encord_ingest__shape")
    assert type(dag.timetable).__name__ == "AssetTriggeredTimetable"
    assert len(_watchers(dag)) == 1


def test_schedule_only_pipeline_has_no_watcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_pipelines(tmp_path, monkeypatch, _config(schedule=None))
    assert type(load_dag("encord_ingest__shape").timetable).__name__ == "NullTimetable"


def test_shipped_pipelines_file_builds_dags(monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("ENCORD_PIPELINES_FILE", str(root / "include" / "pipelines.yaml"))
    names = [
        p["name"] for p in yaml.safe_load((root / "include" / "pipelines.yaml").read_text())["pipelines"]
    ]
    for name in names:
        assert load_dag(f"encord_ingest__{name}").dag_id == f"encord_ingest__{name}"
