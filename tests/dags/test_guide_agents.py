"""The Encord guide's three agent scripts (include/agents/guide/) drain their stages through the agents DAG
(`dag.test()`) against the emulator: media in moto, registered and linked through the SDK, and a project
seeded with the hash, ontology and workflow each script names."""

from __future__ import annotations

import importlib
import io
import uuid
from pathlib import Path
from typing import Any

import boto3
import cv2
import numpy as np
import pytest
import yaml
from encord.objects import Classification
from encord.orm.dataset import StorageLocation
from encord.project import Project
from encord.user_client import EncordUserClient
from encord.workflow import AgentStage, AnnotationStage, ReviewStage
from encord_emulator.testing import EmulatorProcess
from PIL import Image

from tests.dag_runs import xcom_value

GENERAL_HASH = "0a9e3c55-6b0e-4d2c-9a51-1e0c0f6a0001"  # as written in each script
PRECLASSIFY_HASH = "0a9e3c55-6b0e-4d2c-9a51-1e0c0f6a0002"
PRELABEL_HASH = "0a9e3c55-6b0e-4d2c-9a51-1e0c0f6a0003"
VIDEO_FRAMES, VIDEO_FPS, VIDEO_SIZE = 12, 6, (64, 48)

GUIDE_ONTOLOGY: dict[str, Any] = {
    "objects": [{"name": name, "shape": "bounding_box"} for name in ("Apple", "Pear", "Plum")],
    "classifications": [{"name": "Animal", "type": "radio", "options": ["Cat", "Dog"]}],
}
GENERAL_WORKFLOW: list[dict[str, Any]] = [
    {"title": "Start", "type": "start", "to": "Agent 1"},
    {"title": "Agent 1", "type": "agent", "pathways": {"continue to Review": "Review 1"}},
    {"title": "Annotate 1", "type": "annotate", "to": "Review 1"},
    {"title": "Review 1", "type": "review", "approve": "Complete", "reject": "Annotate 1"},
    {"title": "Complete", "type": "complete"},
]
PRECLASSIFY_WORKFLOW: list[dict[str, Any]] = [
    {"title": "Start", "type": "start", "to": "Agent 1"},
    {"title": "Agent 1", "type": "agent",
     "pathways": {"Cat": "Annotate Cat", "Dog": "Annotate Dog", "Other": "Annotate Other"}},
    *[{"title": f"Annotate {kind}", "type": "annotate", "to": "Complete"} for kind in ("Cat", "Dog", "Other")],
    {"title": "Complete", "type": "complete"},
]  # fmt: skip
PRELABEL_WORKFLOW: list[dict[str, Any]] = [
    {"title": "Start", "type": "start", "to": "Pre-Labeling Agent"},
    {"title": "Pre-Labeling Agent", "type": "agent", "pathways": {"Annotate 1": "Annotate 1"}},
    {"title": "Annotate 1", "type": "annotate", "to": "Complete"},
    {"title": "Complete", "type": "complete"},
]
RGB = {"red.png": (220, 40, 30), "blue.png": (20, 50, 230), "grey.png": (128, 128, 128)}


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def mp4(path: Path) -> bytes:
    """A real MPEG-4 video (mp4v) of VIDEO_FRAMES frames, each a different grey, written with OpenCV."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), VIDEO_FPS, VIDEO_SIZE)
    for index in range(VIDEO_FRAMES):
        writer.write(np.full((VIDEO_SIZE[1], VIDEO_SIZE[0], 3), 10 + 20 * index, np.uint8))
    writer.release()
    return path.read_bytes()


def seed_project(
    emulator: EmulatorProcess, moto_url: str, project_hash: str, workflow: list[dict[str, Any]],
    images: dict[str, bytes] = {}, videos: dict[str, bytes] = {},  # noqa: B006 (read only)
) -> Project:  # fmt: skip
    """Objects into a fresh moto bucket, registered into a folder, linked into a dataset, and a project
    with `project_hash`, GUIDE_ONTOLOGY and `workflow` over it."""
    client: EncordUserClient = emulator.client()
    bucket = f"guide-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    for name, body in {**images, **videos}.items():
        s3.put_object(Bucket=bucket, Key=name, Body=body)
    emulator.admin_post(
        "/admin/seed", {"integrations": [{"title": bucket, "provider": "aws", "endpoint_url": moto_url}]}
    )
    integration = next(i for i in client.get_cloud_integrations() if i.title == bucket)
    folder = client.create_storage_folder(f"folder-{bucket}")
    width, height = VIDEO_SIZE
    video_metadata = {"fps": float(VIDEO_FPS), "duration": VIDEO_FRAMES / VIDEO_FPS, "width": width,
                      "height": height, "mime_type": "video/mp4"}  # fmt: skip
    manifest = {
        "images": [{"objectUrl": f"s3://{bucket}/{name}", "title": name} for name in images],
        "videos": [
            {"objectUrl": f"s3://{bucket}/{name}", "title": name,
             "videoMetadata": {**video_metadata, "file_size": len(body)}}
            for name, body in videos.items()
        ],
    }  # fmt: skip
    job = folder.add_private_data_to_folder_start(integration.id, manifest, ignore_errors=False)
    assert folder.add_private_data_to_folder_get_result(job, timeout_seconds=60).status.value == "DONE"
    dataset = client.create_dataset(f"ds-{bucket}", StorageLocation.AWS, create_backing_folder=False)
    client.get_dataset(dataset.dataset_hash, include_data_rows=False).link_items(
        [item.uuid for item in folder.list_items()]
    )
    emulator.admin_post("/admin/seed", {
        "ontologies": [{"title": f"onto-{bucket}", **GUIDE_ONTOLOGY}],
        "projects": [{"title": f"guide-{bucket}", "project_hash": project_hash, "ontology": f"onto-{bucket}",
                      "datasets": [dataset.dataset_hash], "workflow": workflow}],
    })  # fmt: skip
    return client.get_project(project_hash)


@pytest.fixture
def agents_dag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`build(name, project_hash, agent, stage)`: the encord_agents__<name> DAG of a one-project pipelines file."""

    def build(name: str, project_hash: str, agent: str, stage: str) -> Any:
        path = tmp_path / "pipelines.yaml"
        project = {"name": name, "encord_conn_id": "encord_test", "project_hash": project_hash,
                   "agents": [{"stage": stage, "agent": agent}]}  # fmt: skip
        path.write_text(yaml.safe_dump({"pipelines": [], "projects": [project]}))
        monkeypatch.setenv("ENCORD_PIPELINES_FILE", str(path))
        import encord_agent_stages

        return getattr(importlib.reload(encord_agent_stages), f"encord_agents__{name}")

    return build


def titles_in(project: Project, stage: str, type_: type) -> list[str]:
    return sorted(
        str(task.data_title) for task in project.workflow.get_stage(name=stage, type_=type_).get_tasks()
    )


def initialised_rows(project: Project) -> dict[str, Any]:
    rows = project.list_label_rows_v2()
    for row in rows:
        row.initialise_labels()
    return {str(row.data_title): row for row in rows}


def test_general_example_moves_every_task_to_review(
    agents_dag: Any, encord_emulator: EmulatorProcess, moto_endpoint: str, capfd: pytest.CaptureFixture[str]
) -> None:
    images = {name: png(colour) for name, colour in RGB.items()}
    project = seed_project(encord_emulator, moto_endpoint, GENERAL_HASH, GENERAL_WORKFLOW, images=images)
    run = agents_dag("guide_general", GENERAL_HASH, "agents.guide.general_example:__main__", "Agent 1").test()
    assert run.state == "success"
    summary = xcom_value(run, "agent_0_Agent_1")
    assert summary["mode"] == "script" and summary["moved"] == 3 and summary["failed"] == 0
    assert titles_in(project, "Agent 1", AgentStage) == []
    assert titles_in(project, "Review 1", ReviewStage) == sorted(images)
    assert all(not row.get_object_instances() for row in initialised_rows(project).values())
    output = "".join(capfd.readouterr())
    assert "-> red.png" in output  # the custom logic (one print per task) ran
    assert max(encord_emulator.private_key.splitlines(), key=len) not in output  # the key is never logged


def test_pre_classification_routes_by_the_model(
    agents_dag: Any, encord_emulator: EmulatorProcess, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENCORD_GUIDE_MODEL", raising=False)  # the local colour stand-in answers
    images = {name: png(colour) for name, colour in RGB.items()}
    project = seed_project(
        encord_emulator, moto_endpoint, PRECLASSIFY_HASH, PRECLASSIFY_WORKFLOW, images=images
    )
    dag = agents_dag(
        "guide_preclassify", PRECLASSIFY_HASH, "agents.guide.pre_classification:__main__", "Agent 1"
    )
    run = dag.test()
    assert run.state == "success"
    assert xcom_value(run, "agent_0_Agent_1")["moved"] == 3
    assert titles_in(project, "Annotate Cat", AnnotationStage) == ["red.png"]
    assert titles_in(project, "Annotate Dog", AnnotationStage) == ["blue.png"]
    assert titles_in(project, "Annotate Other", AnnotationStage) == ["grey.png"]
    animal = project.ontology_structure.get_child_by_title(title="Animal", type_=Classification)
    answers = {
        title: [instance.get_answer().title for instance in row.get_classification_instances(animal)]  # type: ignore[union-attr]
        for title, row in initialised_rows(project).items()
    }
    assert answers == {"red.png": ["Cat"], "blue.png": ["Dog"], "grey.png": []}


def test_prelabel_video_decodes_every_frame(
    agents_dag: Any, encord_emulator: EmulatorProcess, moto_endpoint: str, tmp_path: Path
) -> None:
    project = seed_project(
        encord_emulator,
        moto_endpoint,
        PRELABEL_HASH,
        PRELABEL_WORKFLOW,
        videos={"clip.mp4": mp4(tmp_path / "c.mp4")},
    )
    dag = agents_dag(
        "guide_prelabel", PRELABEL_HASH, "agents.guide.prelabel_video:runner", "Pre-Labeling Agent"
    )
    run = dag.test()
    assert run.state == "success"
    summary = xcom_value(run, "agent_0_Pre_Labeling_Agent")
    assert summary["mode"] == "runner" and summary["moved"] == 1 and summary["failed"] == 0, summary
    assert titles_in(project, "Annotate 1", AnnotationStage) == ["clip.mp4"]
    row = initialised_rows(project)["clip.mp4"]
    instances = row.get_object_instances()
    assert len(instances) == 10 * VIDEO_FRAMES  # the mock model's ten boxes on every decoded frame
    frames = sorted({annotation.frame for instance in instances for annotation in instance.get_annotations()})
    assert frames == list(range(VIDEO_FRAMES))
    assert {instance.ontology_item.title for instance in instances} <= {"Apple", "Pear", "Plum"}
