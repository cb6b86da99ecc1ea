"""Agent stages and label export against the Encord emulator, with labels from its simulated annotators.

World: PNGs in moto registered through the SDK, a project Start -> Pre-classify (Runner) -> Pre-label
(callable) -> Annotate -> Review -> Complete; the warehouse is a moto bucket.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import boto3
import pytest
from encord_emulator.testing import EmulatorProcess
from encord_provider.exports.jsonl import read_jsonl
from encord_provider.exports.model import ExportFilters
from encord_provider.exports.run import ExportSpec, export_labels
from encord_provider.exports.source import SdkLabelSource
from encord_provider.operators.agents import (
    drain_with_callable,
    drain_with_runner,
    encord_agent_env,
    load_agent,
)
from encord_provider.storage.s3 import S3Store
from pycocotools.coco import COCO

from tests.emulator.test_projects_helpers import World, build_world

WORKFLOW: list[dict[str, Any]] = [
    {"title": "Start", "type": "start", "to": "Pre-classify"},
    {"title": "Pre-classify", "type": "agent", "pathways": {"bright": "Pre-label", "dark": "Pre-label"}},
    {"title": "Pre-label", "type": "agent", "pathways": {"labelled": "Annotate", "skip": "Annotate"}},
    {"title": "Annotate", "type": "annotate", "to": "Review"},
    {"title": "Review", "type": "review", "approve": "Complete", "reject": "Annotate"},
    {"title": "Complete", "type": "complete"},
]


@pytest.fixture
def agent_project(encord_emulator: EmulatorProcess, moto_endpoint: str) -> World:
    return build_world(encord_emulator.client(), encord_emulator, moto_endpoint, images=4, workflow=WORKFLOW)


def _stage_count(world: World, title: str) -> int:
    from encord.workflow.stages.agent import AgentStage

    stage = world.project().workflow.get_stage(name=title, type_=AgentStage)
    return len(list(stage.get_tasks()))


def _drain_both(world: World, emulator: EmulatorProcess) -> None:
    client = world.client
    with encord_agent_env(emulator.url, emulator.private_key):
        runner = load_agent("agents.pre_classify:runner")
        runner.client = client
        report = drain_with_runner(runner, world.project(), "Pre-classify", max_tasks=100, bundle_size=10)
    assert (report.listed, report.moved, report.failures) == (4, 4, [])
    agent = load_agent("agents.pre_label:pre_label")
    report = drain_with_callable(
        world.project(), "Pre-label", agent, max_tasks=100, bundle_size=3, include_signed_url=True
    )
    assert (report.listed, report.moved, report.failures) == (4, 4, []), report


def test_runner_and_callable_drain_their_stages(
    agent_project: World, encord_emulator: EmulatorProcess
) -> None:
    _drain_both(agent_project, encord_emulator)
    assert _stage_count(agent_project, "Pre-classify") == 0 and _stage_count(agent_project, "Pre-label") == 0
    project = agent_project.project()
    rows = project.list_label_rows_v2()
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    for row in rows:
        assert len(row.get_object_instances()) == 1, "pre-label added one box"
        assert len(row.get_classification_instances()) == 1, "pre-classify answered the weather"


def test_the_users_runner_is_left_as_it_is_and_max_tasks_is_exact(
    agent_project: World, encord_emulator: EmulatorProcess
) -> None:
    with encord_agent_env(encord_emulator.url, encord_emulator.private_key):
        runner = importlib.reload(importlib.import_module("agents.pre_classify")).runner
    registered = [(agent, agent.callable, agent.dependant) for agent in runner.agents]
    client, project_hash = runner.client, runner.project_hash
    report = drain_with_runner(runner, agent_project.project(), "Pre-classify", max_tasks=3, bundle_size=2,
                               client=agent_project.client)  # fmt: skip
    assert (report.listed, report.attempted, report.moved, report.failures) == (4, 3, 3, [])
    assert _stage_count(agent_project, "Pre-classify") == 1  # the Runner read a batch past max_tasks, held it
    assert [(a, a.callable, a.dependant) for a in runner.agents] == registered
    assert (runner.client, runner.project_hash) == (client, project_hash)


def test_callable_failures_are_reported_per_task_without_losing_others(agent_project: World) -> None:
    calls: list[str] = []

    def flaky(task: Any, label_row: Any) -> str:
        calls.append(str(task.uuid))
        if len(calls) % 2 == 0:
            raise RuntimeError("model exploded")
        return "bright"

    report = drain_with_callable(agent_project.project(), "Pre-classify", flaky, max_tasks=3, bundle_size=2)
    assert report.listed == 3 and report.moved == 1 + 1 and len(report.failures) == 1
    assert report.failures[0].task_uuid == calls[1] and "model exploded" in report.failures[0].error
    assert _stage_count(agent_project, "Pre-classify") == 2  # the failed one and the one beyond max_tasks


def test_export_after_simulated_annotators(
    agent_project: World, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    _drain_both(agent_project, encord_emulator)
    encord_emulator.admin_post("/admin/annotate", {"project_hash": agent_project.project_hash, "seed": 1})
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="warehouse-it")
    store = S3Store("warehouse-it", endpoint_url=moto_endpoint)
    project = agent_project.project()
    spec = ExportSpec(project="cats", project_hash=agent_project.project_hash, base_prefix="labels",
                      formats=("json", "coco", "parquet"), run_key="run-1")  # fmt: skip
    result = export_labels(store, SdkLabelSource(project, bundle_size=2), spec)
    assert result.status == "written" and result.kind == "full" and result.counts["label_rows"] == 4
    prefix = f"labels/cats/{result.version}"
    coco_path = _download(store, f"{prefix}/coco.json")
    coco = COCO(coco_path)
    assert len(coco.getImgIds()) == 4
    sizes = {(i["width"], i["height"]) for i in coco.loadImgs(coco.getImgIds())}
    assert sizes == set(agent_project.sizes.values())
    ontology_objects = len(project.ontology_structure.objects)
    assert len(coco.getCatIds()) == ontology_objects
    rows = read_jsonl(store.read_bytes(f"{prefix}/labels-00000.jsonl").decode())
    expected_annotations = sum(len(u["labels"]["objects"]) for r in rows for u in r["data_units"].values())
    assert (
        len(coco.getAnnIds()) == expected_annotations > 4
    )  # annotators added shapes beyond the pre-label box
    # the Encord JSON loads back into the SDK's LabelRowV2
    metadata = {r.label_hash: r for r in project.list_label_rows_v2()}
    for row in rows:
        label_row = metadata[row["label_hash"]]
        label_row.from_labels_dict(row)
        assert label_row.get_object_instances()
    manifest = json.loads(store.read_bytes(f"{prefix}/manifest.json"))
    assert manifest["source_rows"] == 4 and store.exists(f"{prefix}/_SUCCESS")
    again = export_labels(
        store, SdkLabelSource(agent_project.project()), ExportSpec(**{**spec.__dict__, "run_key": "run-2"})
    )
    assert again.status == "unchanged"
    completed = export_labels(
        store, SdkLabelSource(agent_project.project()),
        ExportSpec(**{**spec.__dict__, "run_key": "run-3", "filters": ExportFilters(stage="Complete")}),
    )  # fmt: skip
    assert completed.status == "written" and completed.kind == "full"
    assert 0 < completed.counts["label_rows"] <= 4


def _download(store: S3Store, key: str) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as fh:
        fh.write(store.read_bytes(key))
    return fh.name
