"""Second half of `make demo`: agents drain their stages, simulated annotators label, labels are exported.

Called by demo/run_demo.py with its context (emulator, SDK client, moto URL, ingested dataset hashes).
Seeds an ontology and a workflow project on the ingested dataset (Start -> Pre-classify [encord-agents
Runner] -> Pre-label [plain callable] -> Annotate -> Review -> Complete), writes a pipelines file with a
`projects:` entry for it, then runs encord_agents__demo_labels and encord_export__demo_labels with dag.test().
"""

from __future__ import annotations

import importlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import yaml

from tests.dag_runs import run_dag_test, xcom_value

ROOT = Path(__file__).resolve().parents[1]
PROJECT_NAME = "demo_labels"
WAREHOUSE_BUCKET = "demo-warehouse"
ONTOLOGY = {
    "title": "demo-ontology",
    "objects": [
        {"name": "bright spot", "shape": "bounding_box",
         "attributes": [{"name": "colour", "type": "radio", "options": ["white", "grey"]}]},
        {"name": "region", "shape": "polygon"},
        {"name": "marker", "shape": "point"},
    ],
    "classifications": [{"name": "lighting", "type": "radio", "options": ["bright", "dark"]}],
}  # fmt: skip
WORKFLOW = [
    {"title": "Start", "type": "start", "to": "Pre-classify"},
    {"title": "Pre-classify", "type": "agent", "pathways": {"bright": "Pre-label", "dark": "Pre-label"}},
    {"title": "Pre-label", "type": "agent", "pathways": {"labelled": "Annotate", "skip": "Annotate"}},
    {"title": "Annotate", "type": "annotate", "to": "Review"},
    {"title": "Review", "type": "review", "approve": "Complete", "reject": "Annotate"},
    {"title": "Complete", "type": "complete"},
]


def _seed_project(emulator: Any, dataset_hashes: list[str]) -> str:
    project_hash = str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-labels:{','.join(dataset_hashes)}"))
    emulator.admin_post(
        "/admin/seed",
        {
            "ontologies": [ONTOLOGY],
            "projects": [{"title": "Demo labelling", "project_hash": project_hash, "ontology": ONTOLOGY["title"],
                          "datasets": dataset_hashes, "workflow": WORKFLOW}],
        },
    )  # fmt: skip
    return project_hash


def demo_project(project_hash: str) -> dict[str, Any]:
    """The `projects:` entry of the demo labelling project (agents + export); `make airflow` uses it too."""
    return {
        "name": PROJECT_NAME,
        "encord_conn_id": "encord_demo",
        "project_hash": project_hash,
        "agents": [
            {"stage": "Pre-classify", "agent": "agents.pre_classify:runner", "bundle_size": 50},
            {"stage": "Pre-label", "agent": "agents.pre_label:pre_label", "include_signed_url": True},
        ],
        "export": {"uri": f"s3://{WAREHOUSE_BUCKET}", "conn_id": "aws_demo", "prefix": "encord-labels",
                   "schedule": "0 5 * * *", "full_snapshot_every": 5},
    }  # fmt: skip


def _write_pipelines(project_hash: str, airflow_home: str) -> Path:
    source = Path(os.environ.get("ENCORD_PIPELINES_FILE", ROOT / "include" / "pipelines.yaml"))
    config = yaml.safe_load(source.read_text()) or {}
    config["projects"] = [demo_project(project_hash)]
    path = Path(airflow_home) / "pipelines-with-projects.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    os.environ["ENCORD_PIPELINES_FILE"] = str(path)
    return path


def _run(dag: Any, label: str, **kwargs: Any) -> Any:
    dag_run = run_dag_test(dag, **kwargs)
    print(f"   {label}: {dag.dag_id} -> {dag_run.state}")
    if dag_run.state != "success":
        raise SystemExit(f"{dag.dag_id} failed; logs under {os.environ.get('AIRFLOW_HOME')}/logs")
    return dag_run


def run_label_loop(context: dict[str, Any]) -> dict[str, Any]:
    import sys

    import boto3

    for path in (ROOT / "include", ROOT / "dags"):
        if str(path) not in sys.path:
            sys.path.append(str(path))
    emulator = context["emulator"]
    project_hash = _seed_project(emulator, list(context["dataset_hashes"]))
    _write_pipelines(project_hash, context["airflow_home"])
    boto3.client("s3", endpoint_url=context["moto_url"], region_name="us-east-1").create_bucket(
        Bucket=WAREHOUSE_BUCKET
    )
    import encord_agent_stages
    import encord_export

    agents_mod = importlib.reload(encord_agent_stages)
    export_mod = importlib.reload(encord_export)
    agents_dag = getattr(agents_mod, f"encord_agents__{PROJECT_NAME}")
    export_dag = getattr(export_mod, f"encord_export__{PROJECT_NAME}")

    run = _run(agents_dag, "agent stages")
    agents = {task_id: xcom_value(run, task_id) for task_id in agents_dag.task_ids}
    annotated = emulator.admin_post("/admin/annotate", {"project_hash": project_hash, "seed": 7})
    print(f"   simulated annotators: {json.dumps(annotated, default=str)[:200]}")
    export = xcom_value(_run(export_dag, "label export"), "export_labels")
    print(f"   version: {export['uri']} ({export['kind']}) counts: {export['counts']}")
    rerun = xcom_value(_run(export_dag, "label export again"), "export_labels")
    print(f"   second export: {rerun['status']} ({rerun['reason']})")
    return {
        "project_hash": project_hash,
        "agents": {k: {"moved": v["moved"], "failed": v["failed"]} for k, v in agents.items()},
        "export": export,
        "second_export": rerun["status"],
    }
