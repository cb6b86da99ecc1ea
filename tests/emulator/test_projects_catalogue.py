"""Finding and managing ontologies and projects through the real SDK: get_ontologies and list_projects with
their filters and paging, ontology.save, create_project from a workflow template, status, branches."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from encord.exceptions import ResourceNotFoundError
from encord.objects.common import Shape
from encord.objects.ontology_structure import OntologyStructure
from encord.orm.dataset import StorageLocation
from encord.orm.project import ProjectStatus
from encord.user_client import EncordUserClient
from encord.workflow import AgentStage, FinalStage
from encord_emulator.testing import EmulatorProcess

from tests.emulator.test_projects_helpers import build_world


def _structure(*names: str) -> OntologyStructure:
    structure = OntologyStructure()
    for name in names:
        structure.add_object(name, Shape.BOUNDING_BOX)
    return structure


def test_get_ontologies_filters_by_title_description_and_time(encord_client: EncordUserClient) -> None:
    tag = uuid.uuid4().hex[:8]
    before = datetime.now(UTC) - timedelta(seconds=1)
    cars = encord_client.create_ontology(f"cars-{tag}", "vehicles", _structure("car"))
    encord_client.create_ontology(f"people-{tag}", "humans", _structure("person"))
    exact = encord_client.get_ontologies(title_eq=f"cars-{tag}")
    assert [(o["ontology"].ontology_hash, o["user_role"].value) for o in exact] == [(cars.ontology_hash, 0)]
    assert exact[0]["ontology"].structure.objects[0].name == "car"
    both = encord_client.get_ontologies(title_like=f"%-{tag}")
    assert sorted(o["ontology"].title for o in both) == [f"cars-{tag}", f"people-{tag}"]
    assert [
        o["ontology"].title for o in encord_client.get_ontologies(desc_eq="humans", title_like=f"%{tag}")
    ] == [f"people-{tag}"]
    recent = encord_client.get_ontologies(title_like=f"%{tag}", created_after=before)
    assert (
        len(recent) == 2 and encord_client.get_ontologies(title_like=f"%{tag}", created_before=before) == []
    )


def test_get_ontologies_returns_every_match_on_the_one_page_the_sdk_reads(
    encord_client: EncordUserClient,
) -> None:
    tag = uuid.uuid4().hex[:8]
    for index in range(105):  # more than a default page of 100
        encord_client.create_ontology(f"bulk-{tag}-{index:03d}")
    assert len(encord_client.get_ontologies(title_like=f"bulk-{tag}-%")) == 105


def test_ontology_save_updates_title_structure_and_the_projects_using_it(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    world = build_world(encord_client, encord_emulator, moto_endpoint, images=1)
    ontology = encord_client.get_ontology(world.project().ontology_hash)
    ontology.title = f"{ontology.title}-v2"
    ontology.description = "second version"
    ontology.structure.add_object("truck", Shape.POLYGON)
    ontology.save()
    fetched = encord_client.get_ontology(ontology.ontology_hash)
    assert (fetched.title, fetched.description) == (ontology.title, "second version")
    assert "truck" in {o.name for o in fetched.structure.objects}
    assert "truck" in {o.name for o in world.project().ontology_structure.objects}
    ontology.refetch_data()
    assert ontology.last_edited_at >= fetched.created_at


def test_list_projects_filters_and_pages(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess
) -> None:
    tag = uuid.uuid4().hex[:8]
    ontology = encord_client.create_ontology(f"onto-{tag}")
    titles = [f"catalogue-{tag}-{index}" for index in range(5)]
    for title in reversed(titles):
        encord_client.create_project(title, [], project_description=f"d-{title[-1]}",
                                     ontology_hash=ontology.ontology_hash)  # fmt: skip
    encord_emulator.admin_post("/admin/seed", {"settings": {"project_page_size": 2}})
    try:
        listed = list(encord_client.list_projects(title_like=f"catalogue-{tag}-%"))
    finally:
        encord_emulator.admin_post("/admin/seed", {"settings": {"project_page_size": 100}})
    assert [p.title for p in listed] == titles, "three pages of two, in title order"
    (only,) = encord_client.list_projects(title_eq=titles[3])
    assert only.description == "d-3" and only.ontology_structure.objects == []
    assert [p.title for p in encord_client.list_projects(desc_eq="d-1", title_like=f"%{tag}%")] == [titles[1]]
    assert list(encord_client.list_projects(title_like=f"%{tag}%", tags_anyof=["gold"])) == []


@pytest.fixture
def template_world(encord_emulator: EmulatorProcess) -> Iterator[str]:
    template_uuid = str(uuid.uuid4())
    stages = [
        {"title": "Start", "type": "start", "to": "Pre-label"},
        {"title": "Pre-label", "type": "agent", "pathways": {"done": "Complete"}},
        {"title": "Complete", "type": "complete"},
    ]
    encord_emulator.admin_post(
        "/admin/seed",
        {"workflow_templates": [{"title": "agent-only", "uuid": template_uuid, "workflow": stages}]},
    )
    yield template_uuid


def test_create_project_from_workflow_template_with_ontology_and_dataset(
    encord_client: EncordUserClient, template_world: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    ontology = encord_client.create_ontology(f"apple-{tag}", structure=_structure("Apple"))
    dataset = encord_client.create_dataset(f"ds-{tag}", StorageLocation.AWS)
    project_hash = encord_client.create_project(
        f"from-template-{tag}", [dataset.dataset_hash], ontology_hash=ontology.ontology_hash,
        workflow_template_hash=template_world,
    )  # fmt: skip
    project = encord_client.get_project(project_hash)
    assert [type(s) for s in project.workflow.stages] == [AgentStage, FinalStage]
    assert [str(d.dataset_hash) for d in project.list_datasets()] == [dataset.dataset_hash]
    assert project.ontology_hash == ontology.ontology_hash
    copy_hash = encord_client.create_project(f"copy-{tag}", [], workflow_template_hash=project_hash)
    assert [s.title for s in encord_client.get_project(copy_hash).workflow.stages] == [
        "Pre-label",
        "Complete",
    ]
    with pytest.raises(ResourceNotFoundError):
        encord_client.create_project(f"bad-{tag}", [], workflow_template_hash=str(uuid.uuid4()))


def test_set_status_and_list_branches(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    world = build_world(encord_client, encord_emulator, moto_endpoint, images=1)
    project = world.project()
    assert project.status == ProjectStatus.IN_PROGRESS
    project.set_status(ProjectStatus.PAUSED)
    project.refetch_data()
    assert project.status == ProjectStatus.PAUSED
    assert list(project.list_branches()) == ["main"]
    (row,) = project.list_label_rows_v2(branch_name="experiment")
    row.initialise_labels()
    assert list(project.list_branches()) == ["experiment", "main"]
