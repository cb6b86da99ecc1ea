"""`make demo`, projects from config: the `bootstrap` task of `encord_export__demo_fruit` runs twice.

The project entry is include/pipelines.yaml's commented `demo_fruit` example, added to a copy of the file;
its ontology and workflow template are the file's own `ontologies:` and `workflow_templates:`. The first run creates the guide's ontology ("Apple" with "Color", "Time of day") and the project
"Demo fruit labelling" on the ingested dataset, from the workflow template include/pipelines.yaml names;
the second run finds them and reports no drift. The template is seeded into the emulator first, as a
user would make it in the Encord app (the SDK cannot create templates).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.dag_runs import xcom_value

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "demo_fruit"
TEMPLATE_WORKFLOW = [
    {"title": "Start", "type": "start", "to": "Annotate 1"},
    {"title": "Annotate 1", "type": "annotate", "to": "Review 1"},
    {"title": "Review 1", "type": "review", "approve": "Complete", "reject": "Annotate 1"},
    {"title": "Complete", "type": "complete"},
]


DEMO_PROJECT = {
    "name": PROJECT,
    "encord_conn_id": "encord_demo",
    "bootstrap": {"title": "Demo fruit labelling", "ontology": "Demo fruit", "datasets": ["Demo dataset"],
                  "workflow": "Demo review workflow", "on_drift": "report"},
    "export": {"uri": "s3://demo-warehouse", "conn_id": "aws_demo", "schedule": None},
}  # fmt: skip


def _with_demo_project(airflow_home: str) -> Path:
    source = Path(os.environ.get("ENCORD_PIPELINES_FILE", ROOT / "include" / "pipelines.yaml"))
    config = yaml.safe_load(source.read_text()) or {}
    config["projects"] = [*(config.get("projects") or []), DEMO_PROJECT]
    path = Path(airflow_home) / "pipelines-with-bootstrap.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _seed_templates(emulator: Any) -> None:
    from encord_provider.config.loader import load_pipelines

    templates = [
        {"title": t.title, "uuid": t.hash, "workflow": TEMPLATE_WORKFLOW}
        for t in load_pipelines().workflow_templates
    ]
    emulator.admin_post("/admin/seed", {"workflow_templates": templates})


def _bootstrap_once(dag: Any, label: str) -> dict[str, Any]:
    started = time.perf_counter()
    run = dag.partial_subset(task_ids=["bootstrap"], include_upstream=False).test()
    if run.state != "success":
        raise SystemExit(f"{label} failed; logs under {os.environ.get('AIRFLOW_HOME')}/logs")
    report: dict[str, Any] = xcom_value(run, "bootstrap")
    made = ", ".join(report["created"]) or "nothing"
    drift = f"{len(report['drift'])} drift" if report["drift"] else "no drift"
    found = [subject for subject, action in report["actions"].items() if action == "found"]
    print(
        f"   {label} ({time.perf_counter() - started:.1f}s): created {made}; found {', '.join(found) or 'nothing'}; {drift}"
    )
    for item in report["drift"]:
        print(f"   ! {item['kind']}: {item['subject']}: {item['detail']}")
    return report


def run_project_bootstrap(context: dict[str, Any]) -> dict[str, Any]:
    if str(ROOT / "dags") not in sys.path:
        sys.path.append(str(ROOT / "dags"))
    original = os.environ.get("ENCORD_PIPELINES_FILE")
    os.environ["ENCORD_PIPELINES_FILE"] = str(_with_demo_project(context["airflow_home"]))
    try:
        _seed_templates(context["emulator"])
        import encord_export

        dag = getattr(importlib.reload(encord_export), f"encord_export__{PROJECT}")
        first = _bootstrap_once(dag, "first bootstrap")
        second = _bootstrap_once(dag, "second bootstrap")
    finally:
        if original is None:
            os.environ.pop("ENCORD_PIPELINES_FILE", None)
        else:
            os.environ["ENCORD_PIPELINES_FILE"] = original
    project = context["encord_client"].get_project(first["project_hash"])
    structure = project.ontology_structure
    print(f"   project {project.title!r} ({project.project_hash}): stages "
          f"{[s.title for s in project.workflow.stages]}, datasets {[d.title for d in project.list_datasets()]}")  # fmt: skip
    print(f"   ontology objects {[o.name for o in structure.objects]}, classifications "
          f"{[c.attributes[0].name for c in structure.classifications]}")  # fmt: skip
    return {"first": first["created"], "second_created": second["created"], "second_drift": second["drift"]}
