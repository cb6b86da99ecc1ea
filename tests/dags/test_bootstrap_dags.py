"""A project entry with `bootstrap:` starts its agents and export DAGs with a `bootstrap` task, whose
project hash the later tasks read through XCom; dag.test() against the emulator creates the project on
the first run, finds it on the second, and `on_drift: fail` fails the run."""

from __future__ import annotations

import importlib
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from encord_emulator.testing import EmulatorProcess
from encord_provider.operators.bootstrap import PROJECT_HASH_FROM_BOOTSTRAP

from tests.dag_runs import xcom_value


def _pipelines(tag: str, agents: bool = False, **bootstrap: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "ontologies": [{"title": f"Fruit {tag}", "objects": [
            {"name": "Apple", "shape": "polygon",
             "attributes": [{"name": "Color", "type": "radio", "options": ["Red", "Green", "Yellow"]}]}],
            "classifications": [{"name": "Time of day", "type": "radio", "options": ["Night", "Day"]}]}],
        "projects": [{
            "name": "fruit", "encord_conn_id": "encord_test",
            "bootstrap": {"title": f"Fruit {tag}", "ontology": f"Fruit {tag}", "datasets": [f"Fruit {tag}"],
                          **bootstrap},
            "export": {"uri": "s3://warehouse-bootstrap", "conn_id": "aws_test", "schedule": None},
        }],
    }  # fmt: skip
    if agents:
        config["projects"][0]["agents"] = [{"stage": "Annotate 1", "agent": "agents.pre_label:pre_label"}]
    return config


@pytest.fixture
def write_pipelines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    def write(content: dict[str, Any]) -> None:
        path = tmp_path / "pipelines.yaml"
        path.write_text(yaml.safe_dump(content))
        monkeypatch.setenv("ENCORD_PIPELINES_FILE", str(path))

    return write


def _modules() -> tuple[Any, Any]:
    import encord_agent_stages
    import encord_export

    return importlib.reload(encord_agent_stages), importlib.reload(encord_export)


def test_bootstrap_task_starts_both_dags(write_pipelines: Any) -> None:
    write_pipelines(_pipelines("shape", agents=True))
    agents_mod, export_mod = _modules()
    agents = agents_mod.encord_agents__fruit
    assert agents.task_ids == ["bootstrap", "agent_0_Annotate_1"]
    assert agents.get_task("agent_0_Annotate_1").upstream_task_ids == {"bootstrap"}
    assert agents.get_task("agent_0_Annotate_1").project_hash == PROJECT_HASH_FROM_BOOTSTRAP
    export = export_mod.encord_export__fruit
    assert export.get_task("export_labels").upstream_task_ids == {"bootstrap"}
    plan = export.get_task("bootstrap").plan
    # only one DAG of the project creates (the agents DAG); the export DAG's bootstrap only finds
    assert agents.get_task("bootstrap").creator_dag is None
    assert export.get_task("bootstrap").creator_dag == "encord_agents__fruit"
    assert plan["ontology"]["objects"][0]["attributes"][0]["name"] == "Color"


def test_export_dag_bootstraps_then_exports(
    write_pipelines: Any, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    write_pipelines(_pipelines(tag))
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(
        Bucket="warehouse-bootstrap"
    )
    _, export_mod = _modules()
    dag = export_mod.encord_export__fruit

    first = dag.test()
    assert first.state == "success"
    created = xcom_value(first, "bootstrap")
    assert created["created"] == [
        f"ontology 'Fruit {tag}'",
        f"dataset 'Fruit {tag}'",
        f"project 'Fruit {tag}'",
    ]
    project = encord_emulator.client().get_project(created["project_hash"])
    assert project.title == f"Fruit {tag}" and xcom_value(first, "export_labels")["status"] in {
        "written",
        "unchanged",
    }

    second = dag.test()
    assert second.state == "success"
    found = xcom_value(second, "bootstrap")
    assert (
        found["created"] == [] and found["drift"] == [] and found["project_hash"] == created["project_hash"]
    )


def test_drift_fails_the_run_with_on_drift_fail(
    write_pipelines: Any, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    encord_emulator.client().create_ontology(f"Fruit {tag}")  # same title, empty structure
    write_pipelines(_pipelines(tag, on_drift="fail"))
    _, export_mod = _modules()
    run = export_mod.encord_export__fruit.test()
    assert run.state == "failed"
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states["bootstrap"] == "failed" and states["export_labels"] != "success"


def test_agents_dag_reads_the_bootstrapped_hash(
    write_pipelines: Any, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    template = str(uuid.uuid4())
    encord_emulator.admin_post(
        "/admin/seed",
        {"workflow_templates": [{"title": f"agent-{tag}", "uuid": template, "workflow": [
            {"title": "Start", "type": "start", "to": "Annotate 1"},
            {"title": "Annotate 1", "type": "agent", "pathways": {"labelled": "Complete"}},
            {"title": "Complete", "type": "complete"}]}]},
    )  # fmt: skip
    write_pipelines(_pipelines(tag, agents=True, workflow={"template": template}))
    agents_mod, _ = _modules()
    run = agents_mod.encord_agents__fruit.test()
    assert run.state == "success"
    report = xcom_value(run, "bootstrap")
    assert report["drift"] == [] and report["created"][-1] == f"project 'Fruit {tag}'"
    drained = xcom_value(run, "agent_0_Annotate_1")
    assert (
        drained["project_hash"] == report["project_hash"] and drained["moved"] == 0
    )  # the new, empty project
