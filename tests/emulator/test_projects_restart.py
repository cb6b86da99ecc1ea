"""A restart of the emulator keeps projects, ontologies, tasks and labels."""

from __future__ import annotations

import pytest
from encord.objects.coordinates import BoundingBoxCoordinates
from encord.objects.ontology_object import Object
from encord.workflow import AgentStage, AnnotationStage
from encord_emulator.testing import EmulatorProcess

from tests.emulator.test_projects_helpers import AGENT_WORKFLOW, World, build_world


@pytest.fixture
def agent_world(encord_emulator: EmulatorProcess, moto_endpoint: str) -> World:
    """3 images entering at the 'Pre-label' agent stage."""
    return build_world(encord_emulator.client(), encord_emulator, moto_endpoint, workflow=AGENT_WORKFLOW)


def test_restart_keeps_projects_tasks_and_labels(agent_world: World) -> None:
    project = agent_world.project()
    stage = project.workflow.get_stage(name="Pre-label", type_=AgentStage)
    moved = next(iter(stage.get_tasks()))
    moved.proceed(pathway_name="labelled")
    row = project.list_label_rows_v2(data_hashes=[str(moved.data_hash)])[0]
    row.initialise_labels()
    car = project.ontology_structure.get_child_by_title("car", type_=Object)
    instance = car.create_instance()
    instance.set_for_frames(
        BoundingBoxCoordinates(height=0.2, width=0.3, top_left_x=0.4, top_left_y=0.1), frames=0
    )
    row.add_object_instance(instance)
    row.save()
    saved = row.to_encord_dict()

    agent_world.emulator.restart()

    client = agent_world.emulator.client()
    again = client.get_project(agent_world.project_hash)
    assert [s.title for s in again.workflow.stages] == [s.title for s in project.workflow.stages]
    assert again.ontology_structure.to_dict() == project.ontology_structure.to_dict()
    assert len(list(again.workflow.get_stage(name="Pre-label", type_=AgentStage).get_tasks())) == 2
    annotate = again.workflow.get_stage(name="Annotate", type_=AnnotationStage)
    assert [t.uuid for t in annotate.get_tasks()] == [moved.uuid]
    reloaded = again.list_label_rows_v2(label_hashes=[row.label_hash])[0]
    assert reloaded.workflow_graph_node is not None and reloaded.workflow_graph_node.title == "Annotate"
    reloaded.initialise_labels()
    assert reloaded.to_encord_dict()["data_units"] == saved["data_units"]
