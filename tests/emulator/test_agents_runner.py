"""One encord-agents Runner pass over an agent stage of an emulated project (real SDK + real runner)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from encord.objects.coordinates import BoundingBoxCoordinates
from encord.objects.ontology_labels_impl import LabelRowV2
from encord.objects.ontology_object import Object
from encord.storage import StorageItem
from encord.workflow import AgentStage, AnnotationStage, FinalStage
from encord_agents.core.dependencies.models import Depends
from encord_agents.tasks import Runner
from encord_agents.tasks.dependencies import dep_asset
from encord_agents.tasks.models import TaskAgentReturnStruct
from encord_emulator.testing import EmulatorProcess

from tests.emulator.test_projects_helpers import AGENT_WORKFLOW, World, build_world


@pytest.fixture
def agent_world(encord_emulator: EmulatorProcess, moto_endpoint: str) -> World:
    """3 images entering at the 'Pre-label' agent stage."""
    return build_world(encord_emulator.client(), encord_emulator, moto_endpoint, workflow=AGENT_WORKFLOW)


def test_runner_labels_and_routes_every_task(agent_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Dependencies such as dep_client build their own client from these (api-surface §10).
    monkeypatch.setenv("ENCORD_SSH_KEY", agent_world.emulator.private_key)
    monkeypatch.setenv("ENCORD_DOMAIN", agent_world.emulator.url)
    monkeypatch.delenv("ENCORD_SSH_KEY_FILE", raising=False)
    runner = Runner(project_hash=agent_world.project_hash, user_client=agent_world.client)
    seen: dict[str, tuple[int, int, int]] = {}

    @runner.stage("Pre-label")
    def pre_label(
        label_row: LabelRowV2,
        storage_item: StorageItem,
        asset: Annotated[Path, Depends(dep_asset)],
    ) -> TaskAgentReturnStruct | str:
        seen[label_row.data_title] = (
            int(storage_item.width or 0),
            int(storage_item.height or 0),
            asset.stat().st_size,
        )
        if label_row.data_title == "img002.png":
            return "skip"
        car = label_row.ontology_structure.get_child_by_title("car", type_=Object)
        instance = car.create_instance()
        width = int(storage_item.width or 1)
        instance.set_for_frames(
            BoundingBoxCoordinates(height=0.5, width=8 / width, top_left_x=0.0, top_left_y=0.0), frames=0
        )
        label_row.add_object_instance(instance)
        return TaskAgentReturnStruct(pathway="labelled", label_row=label_row)

    runner.run_stage("Pre-label")

    assert {title: size[:2] for title, size in seen.items()} == agent_world.sizes
    assert all(size[2] > 0 for size in seen.values())  # the signed URL really downloaded the PNG
    workflow = agent_world.project().workflow
    assert list(workflow.get_stage(name="Pre-label", type_=AgentStage).get_tasks()) == []
    annotate = sorted(
        t.data_title for t in workflow.get_stage(name="Annotate", type_=AnnotationStage).get_tasks()
    )
    assert annotate == ["img000.png", "img001.png"]
    assert [t.data_title for t in workflow.get_stage(name="Complete", type_=FinalStage).get_tasks()] == [
        "img002.png"
    ]
    project = agent_world.project()
    for row in project.list_label_rows_v2(workflow_graph_node_title_eq="Annotate"):
        row.initialise_labels()
        (box,) = row.get_object_instances()
        coordinates = box.get_annotation(0).coordinates
        assert isinstance(coordinates, BoundingBoxCoordinates)
        assert coordinates.width == pytest.approx(8 / agent_world.sizes[row.data_title][0])
