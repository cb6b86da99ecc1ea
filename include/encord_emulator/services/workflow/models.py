"""Workflow tasks: the only writer of kind ``task`` (id = uuid5(project, data hash)).

Every data row of a project's attached datasets has one task, created at the stage after start when the
row joins (``datasets.on_rows_added``) or the dataset is attached (``projects.on_project_changed``), and
deleted when the data leaves the project. Reads therefore never sync: a stage's task page walks the
``(project, stage, created_at, uuid)`` index. Every move, assignment and priority change goes through a
function here, whoever asks for it (task actions, label workflow actions, simulated annotators).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

from encord_emulator.core.common import now_iso
from encord_emulator.core.errors import invalid_arguments
from encord_emulator.core.store import Store
from encord_emulator.services.datasets import models as datasets
from encord_emulator.services.projects import models as projects
from encord_emulator.services.workflow.graph import (
    NAMESPACE,
    NODE_TYPES,
    entry_stage,
    node_by_uuid,
    resolve_stage,
    start_node,
)

TASK_KIND = "task"


def task_id(project_hash: str, data_hash: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{project_hash}:task:{data_hash}"))


def get_task(store: Store, project_hash: str, data_hash: str) -> dict[str, Any] | None:
    return store.get(TASK_KIND, task_id(project_hash, data_hash))


def tasks_by_data_hash(store: Store, project_hash: str, data_hashes: set[str]) -> dict[str, dict[str, Any]]:
    """Tasks of these data hashes, read by id."""
    found = store.get_many(TASK_KIND, [task_id(project_hash, h) for h in sorted(data_hashes)])
    return {task["data_hash"]: task for task in found.values()}


def tasks_of_project(store: Store, project_hash: str) -> list[dict[str, Any]]:
    return store.query(TASK_KIND, project_hash=project_hash)


def tasks_of_stage(
    store: Store, project_hash: str, stage_uuid: str, after: tuple[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """The stage's tasks in ``(created_at, uuid)`` order after the cursor, read lazily along an index."""
    return store.scan(TASK_KIND, "created_at", after=after, project_hash=project_hash, stage_uuid=stage_uuid)


# ---------------------------------------------------------------- creating and deleting tasks


def new_task(project: dict[str, Any], row: dict[str, Any], stamp: str) -> dict[str, Any]:
    stage = entry_stage(project["workflow"], row["data_hash"])
    return {
        "uuid": task_id(project["project_hash"], row["data_hash"]),
        "project_hash": project["project_hash"],
        "data_hash": row["data_hash"],
        "dataset_hash": row["dataset_hash"],
        "data_title": row.get("data_title") or row["data_hash"],
        "stage_uuid": stage["uuid"],
        "status": "NEW",
        "assignee": None,
        "last_actioned_by": None,
        "priority": None,
        "reviewed": False,
        "created_at": stamp,
        "updated_at": stamp,
    }


def _create_missing(store: Store, project: dict[str, Any], views: list[dict[str, Any]]) -> None:
    """A task at the entry stage for each data view that has none."""
    have = tasks_by_data_hash(store, project["project_hash"], {view["data_hash"] for view in views})
    stamp = now_iso()
    new = {}
    for view in views:
        if view["data_hash"] not in have:
            task = new_task(project, view, stamp)
            new[task["uuid"]] = task
    store.put_many(TASK_KIND, new)


@datasets.on_rows_added
def _tasks_for_new_rows(store: Store, dataset_hash: str, rows: list[dict[str, Any]]) -> None:
    for project in projects.projects_with_dataset(store, dataset_hash):
        views = projects.project_data(store, project, {row["data_hash"] for row in rows})
        _create_missing(store, project, views)


@projects.on_project_changed
def _sync_changed_project(store: Store, project: dict[str, Any]) -> None:
    """After a workflow change, tasks whose stage vanished re-enter at the stage after start; data of newly
    attached datasets gets its tasks."""
    graph = project["workflow"]
    for task in tasks_of_project(store, project["project_hash"]):
        node = node_by_uuid(graph, task["stage_uuid"])
        if node is None or NODE_TYPES[node["type"]] is None:
            _move(graph, task, start_node(graph)["uuid"], "emulator")
            store.put(TASK_KIND, task["uuid"], task)
    _create_missing(store, project, projects.project_data(store, project))


@datasets.on_rows_removed
def _drop_tasks_of_removed_data(store: Store, dataset_hash: str, data_hashes: list[str]) -> None:
    """Data removed from a dataset leaves the projects it is attached to, unless another attached dataset
    still holds the same data hash."""
    for project in projects.projects_with_dataset(store, dataset_hash):
        for data_hash in data_left_project(store, project, data_hashes):
            store.delete(TASK_KIND, task_id(project["project_hash"], data_hash))


def data_left_project(store: Store, project: dict[str, Any], data_hashes: list[str]) -> set[str]:
    """Which of ``data_hashes`` no attached dataset of ``project`` holds any more."""
    still_there = {view["data_hash"] for view in projects.project_data(store, project, set(data_hashes))}
    return set(data_hashes) - still_there


# ---------------------------------------------------------------- moving tasks


def _move(
    graph: dict[str, Any], task: dict[str, Any], target_uuid: str, actor: str, status: str = "NEW"
) -> None:
    """Send ``task`` to ``target_uuid`` (resolving routers) and record who did it."""
    stage = resolve_stage(graph, target_uuid, task["data_hash"])
    task["stage_uuid"] = stage["uuid"]
    task["status"] = "COMPLETED" if stage["type"] == "complete" else status
    task["assignee"] = None
    task["last_actioned_by"] = actor
    task["updated_at"] = now_iso()


def move_task(
    store: Store,
    project: dict[str, Any],
    task: dict[str, Any],
    target_uuid: str,
    actor: str,
    status: str = "NEW",
) -> dict[str, Any]:
    """Move one task (a label row's workflow_complete / reopen, the simulated annotators) and save it."""
    _move(project["workflow"], task, target_uuid, actor, status)
    store.put(TASK_KIND, task["uuid"], task)
    return task


def submit(store: Store, project: dict[str, Any], task: dict[str, Any], actor: str) -> None:
    """An annotate stage's SUBMIT: on to the stage's ``to``."""
    node = node_by_uuid(project["workflow"], task["stage_uuid"])
    assert node is not None
    move_task(store, project, task, node["to"], actor)


def review(store: Store, project: dict[str, Any], task: dict[str, Any], approve: bool, actor: str) -> None:
    """A review stage's APPROVE (marks the task reviewed) or REJECT (reopened at the reject stage)."""
    node = node_by_uuid(project["workflow"], task["stage_uuid"])
    assert node is not None
    if approve:
        task["reviewed"] = True
        move_task(store, project, task, node["approve"], actor)
    else:
        move_task(store, project, task, node["reject"], actor, status="REOPENED")


def move_tasks(store: Store, project: dict[str, Any], stage_uuid: str, task_uuids: list[str], destination: str,
               actor: str) -> None:  # fmt: skip
    """``stage.move_tasks``: every task must be in ``stage_uuid``; all move or none."""
    graph = project["workflow"]
    target = node_by_uuid(graph, destination)
    if target is None or target["type"] == "start":
        raise invalid_arguments(
            f"destination {destination!r} is not a stage of project {project['project_hash']}"
        )
    with store.transaction():
        tasks = store.get_many(TASK_KIND, task_uuids)
        for task_uuid in task_uuids:
            task = tasks.get(task_uuid)
            if task is None or task["stage_uuid"] != stage_uuid:
                raise invalid_arguments(f"task {task_uuid} is not in stage {stage_uuid}")
        for task in tasks.values():
            move_task(store, project, task, destination, actor)


def set_priorities(store: Store, project_hash: str, priorities: list[tuple[str, float]]) -> None:
    with store.transaction():
        for data_hash, priority in priorities:
            task = get_task(store, project_hash, str(data_hash))
            if task is None:
                raise invalid_arguments(f"data {data_hash} has no task in project {project_hash}")
            task["priority"] = float(priority)
            store.put(TASK_KIND, task["uuid"], task)


# ---------------------------------------------------------------- stage actions


def apply_actions(
    store: Store, project: dict[str, Any], stage_uuid: str, actions: list[dict[str, Any]], actor: str
) -> list[dict[str, Any]]:
    """Validate every action first, then apply all of them in one transaction (all or nothing).

    Raises ``invalid_arguments`` (HTTP 400 -> ``InvalidArgumentsError``) naming the first bad action,
    which is what encord-agents relies on to replay a rejected bundle task by task.
    """
    graph = project["workflow"]
    node = node_by_uuid(graph, stage_uuid)
    if node is None or NODE_TYPES[node["type"]] is None:
        raise invalid_arguments(f"stage {stage_uuid} is not a stage of project {project['project_hash']}")
    with store.transaction():
        ids = [str(action.get("taskUuid") or action.get("task_uuid") or "") for action in actions]
        tasks = store.get_many(TASK_KIND, ids)
        plan = [
            _plan_action(graph, node, tasks.get(task_uuid), task_uuid, action)
            for task_uuid, action in zip(ids, actions, strict=True)
        ]
        if len(set(ids)) != len(ids):
            raise invalid_arguments("the same task appears twice in one actions request")
        for task, apply in plan:
            apply(task, actor)
            store.put(TASK_KIND, task["uuid"], task)
    return [task for task, _ in plan]


Apply = Callable[[dict[str, Any], str], Any]


def _plan_action(
    graph: dict[str, Any],
    node: dict[str, Any],
    task: dict[str, Any] | None,
    task_uuid: str,
    action: dict[str, Any],
) -> tuple[dict[str, Any], Apply]:
    if task is None:
        raise invalid_arguments(f"task {task_uuid} does not exist")
    if task["stage_uuid"] != node["uuid"]:
        raise invalid_arguments(f"task {task_uuid} is not in stage {node['title']!r} (it has moved on)")
    kind = str(action.get("action", ""))
    allowed = _ALLOWED_ACTIONS.get(node["type"], set())
    if kind not in allowed:
        raise invalid_arguments(
            f"action {kind!r} is not allowed in {node['type']} stage {node['title']!r}; allowed: {sorted(allowed)}"
        )
    if kind == "PATHWAY_ACTION":
        target = _pathway_target(node, action)
        return task, lambda t, actor: _move(graph, t, target, actor)
    if kind == "SUBMIT":
        return task, lambda t, actor: _move(graph, t, node["to"], actor)
    if kind == "APPROVE":
        return task, lambda t, actor: _approve(graph, t, node["approve"], actor)
    if kind == "REJECT":
        return task, lambda t, actor: _move(graph, t, node["reject"], actor, status="REOPENED")
    if kind == "ASSIGN":
        assignee = action.get("assignee")
        if not assignee:
            raise invalid_arguments(f"ASSIGN for task {task_uuid} needs an assignee")
        return task, lambda t, actor: t.update(assignee=assignee, status="ASSIGNED", updated_at=now_iso())
    return task, lambda t, actor: t.update(assignee=None, status="RELEASED", updated_at=now_iso())


def _approve(graph: dict[str, Any], task: dict[str, Any], target: str, actor: str) -> None:
    task["reviewed"] = True
    _move(graph, task, target, actor)


_ALLOWED_ACTIONS = {
    "agent": {"PATHWAY_ACTION", "ASSIGN", "RELEASE"},
    "annotate": {"SUBMIT", "ASSIGN", "RELEASE"},
    "review": {"APPROVE", "REJECT", "ASSIGN", "RELEASE"},
}


def _pathway_target(node: dict[str, Any], action: dict[str, Any]) -> str:
    pathway_uuid = action.get("pathwayUuid") or action.get("pathway_uuid")
    pathway_name = action.get("pathwayName") or action.get("pathway_name")
    for pathway in node["pathways"]:
        if (pathway_uuid and str(pathway_uuid).lower() == pathway["uuid"]) or (
            pathway_name and pathway_name == pathway["title"]
        ):
            return str(pathway["to"])
    names = [pathway["title"] for pathway in node["pathways"]]
    raise invalid_arguments(
        f"agent stage {node['title']!r} has no pathway {pathway_name or pathway_uuid!r}; pathways: {names}"
    )
