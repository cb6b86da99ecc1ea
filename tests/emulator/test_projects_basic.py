"""Projects through the real SDK: get_project, ontology shapes, workflow stages, datasets, tasks appear."""

from __future__ import annotations

import uuid
from pathlib import Path

import encord_emulator as encord_emulator_module
import pytest
from encord.exceptions import ResourceNotFoundError
from encord.objects.common import Shape
from encord.objects.ontology_object import Object
from encord.orm.dataset import StorageLocation
from encord.workflow import AgentStage, AnnotationStage, FinalStage, ReviewStage
from encord_emulator.testing import EmulatorProcess

from tests.emulator.test_projects_helpers import AGENT_WORKFLOW, World, build_world, register_images


@pytest.fixture
def world(encord_emulator: EmulatorProcess, moto_endpoint: str) -> World:
    """3 images in a default Annotate -> Review -> Complete project."""
    return build_world(encord_emulator.client(), encord_emulator, moto_endpoint)


@pytest.fixture
def agent_world(encord_emulator: EmulatorProcess, moto_endpoint: str) -> World:
    """3 images entering at the 'Pre-label' agent stage."""
    return build_world(encord_emulator.client(), encord_emulator, moto_endpoint, workflow=AGENT_WORKFLOW)


def test_get_project_exposes_metadata_ontology_and_workflow(world: World) -> None:
    project = world.project()
    assert project.project_hash == world.project_hash
    assert project.title.startswith("project-")
    assert project.creator_email
    structure = project.ontology_structure
    shapes = {obj.name: obj.shape for obj in structure.objects}
    assert shapes == {
        "car": Shape.BOUNDING_BOX,
        "road": Shape.POLYGON,
        "lane": Shape.POLYLINE,
        "light": Shape.POINT,
        "pose": Shape.SKELETON,
        "mask": Shape.BITMASK,
    }
    car = structure.get_child_by_title("car", type_=Object)
    assert [option.label for option in car.attributes[0].options] == ["red", "blue"]
    assert set(structure.skeleton_templates) == {"pose"}
    assert {c.attributes[0].name for c in structure.classifications} == {"weather", "tags"}
    stage_types = [(type(stage), stage.title) for stage in project.workflow.stages]
    assert stage_types == [(AnnotationStage, "Annotate"), (ReviewStage, "Review"), (FinalStage, "Complete")]


def test_agent_workflow_hides_start_and_routers(agent_world: World) -> None:
    project = agent_world.project()
    titles = [stage.title for stage in project.workflow.stages]
    assert titles == ["Pre-label", "Annotate", "Review", "Complete"]
    stage = project.workflow.get_stage(name="Pre-label", type_=AgentStage)
    assert sorted(p.name for p in stage.pathways) == ["labelled", "skip"]
    complete = project.workflow.get_stage(name="Complete", type_=FinalStage)
    skip = next(p for p in stage.pathways if p.name == "skip")
    assert skip.destination_uuid == complete.uuid


def test_linked_data_becomes_tasks_at_stage_after_start(agent_world: World) -> None:
    stage = agent_world.project().workflow.get_stage(name="Pre-label", type_=AgentStage)
    tasks = list(stage.get_tasks())
    assert sorted(task.data_title for task in tasks) == agent_world.titles
    assert {str(task.data_hash) for task in tasks} == set(agent_world.item_uuids)
    assert all(task.status.value == "NEW" and task.label_branch_name == "main" for task in tasks)


def test_project_datasets_and_add_datasets(encord_emulator: EmulatorProcess, moto_endpoint: str) -> None:
    client = encord_emulator.client()
    world = build_world(client, encord_emulator, moto_endpoint, images=1)
    project = world.project()
    assert [str(d.dataset_hash) for d in project.list_datasets()] == [world.dataset_hash]
    # A second dataset with two more images, attached afterwards: its data joins the workflow.
    items, titles, _ = register_images(client, encord_emulator, moto_endpoint, 2)
    extra = client.create_dataset(
        f"extra-{uuid.uuid4().hex[:6]}", StorageLocation.AWS, create_backing_folder=False
    )
    client.get_dataset(extra.dataset_hash, include_data_rows=False).link_items([uuid.UUID(u) for u in items])
    assert project.add_datasets([str(extra.dataset_hash)]) is True
    assert {str(d.dataset_hash) for d in project.list_datasets()} == {
        world.dataset_hash,
        str(extra.dataset_hash),
    }
    annotate = project.workflow.get_stage(name="Annotate", type_=AnnotationStage)
    assert len(list(annotate.get_tasks())) == 3
    assert len(list(annotate.get_tasks(dataset_hash=str(extra.dataset_hash)))) == 2


def test_data_linked_after_project_creation_appears(
    encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    client = encord_emulator.client()
    world = build_world(client, encord_emulator, moto_endpoint, images=2, link=False)
    annotate = world.project().workflow.get_stage(name="Annotate", type_=AnnotationStage)
    assert list(annotate.get_tasks()) == []
    client.get_dataset(world.dataset_hash, include_data_rows=False).link_items(
        [uuid.UUID(world.item_uuids[0])]
    )
    assert [str(t.data_hash) for t in annotate.get_tasks()] == world.item_uuids[:1]


def test_unknown_project_raises_resource_not_found(encord_emulator: EmulatorProcess) -> None:
    with pytest.raises(ResourceNotFoundError):
        encord_emulator.client().get_project(str(uuid.uuid4()))


def test_add_unknown_dataset_raises(world: World) -> None:
    with pytest.raises(ResourceNotFoundError):
        world.project().add_datasets([str(uuid.uuid4())])


def test_create_project_through_sdk_gets_default_workflow(world: World) -> None:
    project = world.project()
    new_hash = world.client.create_project(
        "sdk-made", dataset_hashes=[world.dataset_hash], ontology_hash=project.ontology_hash
    )
    created = world.client.get_project(new_hash)
    assert [s.title for s in created.workflow.stages] == ["Annotate", "Review", "Complete"]
    annotate = created.workflow.get_stage(name="Annotate", type_=AnnotationStage)
    assert len(list(annotate.get_tasks())) == len(world.titles)


def test_example_seed_file_applies_and_is_idempotent(encord_emulator: EmulatorProcess) -> None:
    import yaml

    path = Path(encord_emulator_module.__file__).parent / "seeds" / "projects_example.yaml"
    seed = yaml.safe_load(path.read_text())
    encord_emulator.admin_post("/admin/seed", seed)
    encord_emulator.admin_post("/admin/seed", seed)
    project = encord_emulator.client().get_project(seed["projects"][0]["project_hash"])
    assert [s.title for s in project.workflow.stages] == ["Pre-label", "Annotate", "Review", "Complete"]
    assert len(project.ontology_structure.objects) == 6
    assert project.workflow.get_stage(name="Pre-label", type_=AgentStage).pathways[0].name == "labelled"


def test_bad_workflow_seed_names_the_problem(encord_emulator: EmulatorProcess) -> None:
    bad = {
        "ontologies": [{"title": "tiny", "objects": [{"name": "box"}]}],
        "projects": [
            {
                "title": "broken",
                "ontology": "tiny",
                "workflow": [
                    {"title": "Start", "type": "start", "to": "Nowhere"},
                    {"title": "Done", "type": "complete"},
                ],
            }
        ],
    }
    with pytest.raises(RuntimeError, match="broken.*'to' must name a stage, got 'Nowhere'"):
        encord_emulator.admin_post("/admin/seed", bad)
