"""encord_agents__<name> and encord_export__<name> DAGs: shape from the pipelines file, then dag.test()
against the Encord emulator (agents drain, simulated annotators label, export writes a version)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from encord_emulator.testing import EmulatorProcess

from tests.dag_runs import xcom_value
from tests.emulator.test_projects_helpers import build_world
from tests.integration.test_agents_export_emulator import WORKFLOW


def _pipelines(project_hash: str, extra_export: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        # `ingest_fed` below is triggered by this pipeline; the loader rejects a name it cannot resolve.
        "pipelines": [{"name": "demo_s3", "source": {"cloud": "s3", "bucket": "media"},
                       "integration": {"title": "demo-aws"}, "folder": {"name": "Demo"},
                       "staging": {"uri": "s3://staging-dags"}}],
        "projects": [
            {
                "name": "demo_cats",
                "encord_conn_id": "encord_test",
                "project_hash": project_hash,
                "agents": [
                    {"stage": "Pre-classify", "agent": "agents.pre_classify:runner", "bundle_size": 2},
                    {"stage": "Pre-label", "agent": "agents.pre_label:pre_label", "include_signed_url": True},
                ],
                "export": {
                    "uri": "s3://warehouse-dags/base",
                    "conn_id": "aws_test",
                    "prefix": "labels",
                    "schedule": "0 4 * * *",
                    "full_snapshot_every": 2,
                    **(extra_export or {}),
                },
            },
            {"name": "ingest_fed", "project_hash": "p2", "triggered_by_ingest": "demo_s3",
             "agents": [{"stage": "A", "agent": "agents.pre_label:pre_label"}]},
        ],
    }  # fmt: skip


@pytest.fixture
def pipelines_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    def write(content: dict[str, Any]) -> Path:
        path = tmp_path / "pipelines.yaml"
        path.write_text(yaml.safe_dump(content))
        monkeypatch.setenv("ENCORD_PIPELINES_FILE", str(path))
        return path

    return write


def _modules() -> tuple[Any, Any]:
    import encord_agent_stages
    import encord_export

    return importlib.reload(encord_agent_stages), importlib.reload(encord_export)


def test_dags_built_from_projects_section(pipelines_file: Any) -> None:
    pipelines_file(_pipelines("p1", {"coco": {"mask_iscrowd": True}}))
    agents_mod, export_mod = _modules()
    agents_dag = agents_mod.encord_agents__demo_cats
    assert agents_dag.task_ids == ["agent_0_Pre_classify", "agent_1_Pre_label"]
    assert agents_dag.get_task("agent_1_Pre_label").upstream_task_ids == {"agent_0_Pre_classify"}
    fed = agents_mod.encord_agents__ingest_fed
    assert [a.uri for a in fed.timetable.asset_condition.objects] == ["encord://demo_s3/ingested"]
    export_dag = export_mod.encord_export__demo_cats
    assert export_dag.timetable.expression == "0 4 * * *"
    assert set(export_dag.params) == {"stage", "version_name", "full_snapshot"}
    coco_options = export_dag.get_task("export_labels").coco_options
    assert coco_options == {"point_segmentation": "polygon", "mask_iscrowd": True}
    assert not hasattr(export_mod, "encord_export__ingest_fed")


def test_agent_then_export_dags_run_against_emulator(
    pipelines_file: Any, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    world = build_world(encord_emulator.client(), encord_emulator, moto_endpoint, images=3, workflow=WORKFLOW)
    pipelines_file(_pipelines(world.project_hash))
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(
        Bucket="warehouse-dags"
    )
    agents_mod, export_mod = _modules()

    run = agents_mod.encord_agents__demo_cats.test()
    assert run.state == "success"
    summary = xcom_value(run, "agent_0_Pre_classify")
    assert summary["mode"] == "runner" and summary["moved"] == 3 and summary["failed"] == 0
    assert xcom_value(run, "agent_1_Pre_label")["moved"] == 3

    encord_emulator.admin_post("/admin/annotate", {"project_hash": world.project_hash, "seed": 2})
    run = export_mod.encord_export__demo_cats.test()
    assert run.state == "success"
    result = xcom_value(run, "export_labels")
    assert result["status"] == "written" and result["kind"] == "full" and result["counts"]["label_rows"] == 3
    assert result["uri"].startswith("s3://warehouse-dags/base/labels/demo_cats/v00001_")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    latest = json.loads(
        s3.get_object(Bucket="warehouse-dags", Key="base/labels/demo_cats/latest")["Body"].read()
    )
    assert latest["version"] == result["version"]

    run = export_mod.encord_export__demo_cats.test()  # nothing changed since
    assert run.state == "success" and xcom_value(run, "export_labels")["status"] == "unchanged"

    run = export_mod.encord_export__demo_cats.test(
        run_conf={"stage": "Complete", "version_name": "release-1", "full_snapshot": True}
    )
    assert run.state == "success"
    manual = xcom_value(run, "export_labels")
    assert manual["status"] == "written" and manual["version"] == "release-1" and manual["kind"] == "full"
