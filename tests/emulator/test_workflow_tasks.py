"""Workflow through the real SDK: stages, task listing/filters/paging, proceed, bundles, failures."""

from __future__ import annotations

import pytest
from encord.exceptions import InvalidArgumentsError
from encord.http.bundle import Bundle
from encord.workflow import AgentStage, AnnotationStage, FinalStage, ReviewStage
from encord_emulator.testing import EmulatorProcess

from tests.emulator.test_projects_helpers import AGENT_WORKFLOW, World, build_world


@pytest.fixture
def world(encord_emulator: EmulatorProcess, moto_endpoint: str) -> World:
    """3 images in a default Annotate -> Review -> Complete project."""
    return build_world(encord_emulator.client(), encord_emulator, moto_endpoint)


@pytest.fixture
def agent_world(encord_emulator: EmulatorProcess, moto_endpoint: str) -> World:
    """3 images entering at the 'Pre-label' agent stage."""
    return build_world(encord_emulator.client(), encord_emulator, moto_endpoint, workflow=AGENT_WORKFLOW)


def _stage_counts(world: World) -> dict[str, int]:
    return dict(world.emulator.admin_get(f"/admin/projects/{world.project_hash}/tasks")["stages"])


def test_get_stage_by_name_uuid_and_failures(agent_world: World) -> None:
    workflow = agent_world.project().workflow
    stage = workflow.get_stage(name="Pre-label", type_=AgentStage)
    assert workflow.get_stage(uuid=stage.uuid, type_=AgentStage) == stage
    with pytest.raises(ValueError, match="No matching stage"):
        workflow.get_stage(name="No such stage", type_=AgentStage)
    with pytest.raises(AssertionError):
        workflow.get_stage(name="Annotate", type_=AgentStage)


def test_proceed_by_name_and_uuid_routes_through_router(agent_world: World) -> None:
    project = agent_world.project()
    stage = project.workflow.get_stage(name="Pre-label", type_=AgentStage)
    tasks = sorted(stage.get_tasks(), key=lambda t: t.data_title)
    labelled = next(p for p in stage.pathways if p.name == "labelled")
    tasks[0].proceed(pathway_name="labelled")
    tasks[1].proceed(pathway_uuid=labelled.uuid)
    tasks[2].proceed(pathway_name="skip")
    # 'labelled' leads to a router that forwards to Annotate at once.
    assert _stage_counts(agent_world) == {"Pre-label": 0, "Annotate": 2, "Review": 0, "Complete": 1}
    annotate = project.workflow.get_stage(name="Annotate", type_=AnnotationStage)
    assert sorted(t.data_title for t in annotate.get_tasks()) == [tasks[0].data_title, tasks[1].data_title]
    final = project.workflow.get_stage(name="Complete", type_=FinalStage)
    assert [t.data_title for t in final.get_tasks()] == [tasks[2].data_title]


def test_bundled_proceed_is_one_request_and_all_or_nothing(agent_world: World) -> None:
    stage = agent_world.project().workflow.get_stage(name="Pre-label", type_=AgentStage)
    tasks = list(stage.get_tasks())
    tasks[0].proceed(pathway_name="skip")
    # One task already moved: the whole bundled request is rejected, nothing else moves.
    with pytest.raises(InvalidArgumentsError, match="not in stage"):
        with Bundle() as bundle:
            for task in tasks:
                task.proceed(pathway_name="labelled", bundle=bundle)
    assert _stage_counts(agent_world)["Pre-label"] == 2
    with Bundle() as bundle:
        for task in tasks[1:]:
            task.proceed(pathway_name="labelled", bundle=bundle)
    assert _stage_counts(agent_world) == {"Pre-label": 0, "Annotate": 2, "Review": 0, "Complete": 1}


def test_bad_pathway_name_and_uuid_are_rejected(agent_world: World) -> None:
    task = next(
        iter(agent_world.project().workflow.get_stage(name="Pre-label", type_=AgentStage).get_tasks())
    )
    with pytest.raises(InvalidArgumentsError, match="no pathway"):
        task.proceed(pathway_name="nowhere")
    with pytest.raises(InvalidArgumentsError, match="no pathway"):
        task.proceed(pathway_uuid="00000000-0000-0000-0000-000000000000")
    assert _stage_counts(agent_world)["Pre-label"] == 3


def test_task_filters(agent_world: World) -> None:
    stage = agent_world.project().workflow.get_stage(name="Pre-label", type_=AgentStage)
    first = agent_world.item_uuids[0]
    assert [str(t.data_hash) for t in stage.get_tasks(data_hash=first)] == [first]
    assert [t.data_title for t in stage.get_tasks(data_title="img001")] == ["img001.png"]
    assert len(list(stage.get_tasks(dataset_hash=agent_world.dataset_hash))) == 3
    assert list(stage.get_tasks(status=["COMPLETED"])) == []  # type: ignore[list-item]
    assert list(stage.get_tasks(assignee="nobody@example.com")) == []


def test_paging_is_stable_while_tasks_leave_the_stage(
    encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    encord_emulator.admin_post("/admin/seed", {"settings": {"task_page_size": 2}})
    try:
        world = build_world(
            encord_emulator.client(), encord_emulator, moto_endpoint, images=5, workflow=AGENT_WORKFLOW
        )
        stage = world.project().workflow.get_stage(name="Pre-label", type_=AgentStage)
        seen = []
        for task in stage.get_tasks():  # lazily paged, 2 per page; each task leaves before the next page
            seen.append(task.data_title)
            task.proceed(pathway_name="skip")
        assert sorted(seen) == world.titles
    finally:
        encord_emulator.admin_post("/admin/seed", {"settings": {"task_page_size": 100}})


def test_annotate_submit_review_approve_and_reject(world: World) -> None:
    project = world.project()
    annotate = project.workflow.get_stage(name="Annotate", type_=AnnotationStage)
    review = project.workflow.get_stage(name="Review", type_=ReviewStage)
    tasks = list(annotate.get_tasks())
    tasks[0].assign("ann@example.com")
    assert [t.assignee for t in annotate.get_tasks(assignee="ann@example.com")] == ["ann@example.com"]
    with Bundle() as bundle:
        for task in tasks:
            task.submit(bundle=bundle)
    review_tasks = sorted(review.get_tasks(), key=lambda t: t.data_title)
    assert len(review_tasks) == 3
    review_tasks[0].approve()
    review_tasks[1].reject()
    assert _stage_counts(world) == {"Annotate": 1, "Review": 1, "Complete": 1}
    returned = next(iter(annotate.get_tasks()))
    assert returned.status.value == "REOPENED"


def test_move_task_to_another_stage(world: World) -> None:
    project = world.project()
    annotate = project.workflow.get_stage(name="Annotate", type_=AnnotationStage)
    final = project.workflow.get_stage(name="Complete", type_=FinalStage)
    task = next(iter(annotate.get_tasks()))
    task.move(destination_stage_uuid=final.uuid)
    assert [str(t.data_hash) for t in final.get_tasks()] == [str(task.data_hash)]
