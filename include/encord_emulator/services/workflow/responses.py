"""Workflow routes: ``/v2/public/projects/{p}/workflow/stages/{s}/tasks|actions|move-tasks`` and
``/projects/{p}/priorities``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from encord_emulator.core.common import ordered_page, page_cursor
from encord_emulator.core.errors import not_found
from encord_emulator.core.registry import Ctx, app_state
from encord_emulator.services.projects.models import get_project_doc
from encord_emulator.services.workflow import models
from encord_emulator.services.workflow.graph import NODE_TYPES, node_by_uuid

DEFAULT_TASK_PAGE_SIZE = 100

router = APIRouter()


def task_dto(task: dict[str, Any]) -> dict[str, Any]:
    """``AgentTask`` / ``AnnotationTask`` / ``ReviewTask`` / ``FinalStageTask`` (superset, all present)."""
    return {
        "uuid": task["uuid"],
        "createdAt": task["created_at"],
        "updatedAt": task["updated_at"],
        "status": task["status"],
        "dataHash": task["data_hash"],
        "dataTitle": task["data_title"],
        "labelBranchName": "main",
        "assignee": task["assignee"],
        "lastActionedBy": task["last_actioned_by"],
    }


def _matches(task: dict[str, Any], filters: dict[str, Any]) -> bool:
    if filters["user_emails"] and task["assignee"] not in filters["user_emails"]:
        return False
    if filters["data_hashes"] and task["data_hash"] not in filters["data_hashes"]:
        return False
    if filters["dataset_hashes"] and task["dataset_hash"] not in filters["dataset_hashes"]:
        return False
    if filters["title"] and filters["title"].lower() not in str(task["data_title"]).lower():
        return False
    return not filters["statuses"] or task["status"] in filters["statuses"]


@router.get("/projects/{project_hash}/workflow/stages/{stage_uuid}/tasks")
def list_tasks(
    request: Request,
    project_hash: str,
    stage_uuid: str,
    ctx: Ctx,
    user_emails: Annotated[list[str] | None, Query(alias="userEmails")] = None,
    data_hashes: Annotated[list[str] | None, Query(alias="dataHashes")] = None,
    dataset_hashes: Annotated[list[str] | None, Query(alias="datasetHashes")] = None,
    data_title_contains: Annotated[str | None, Query(alias="dataTitleContains")] = None,
    statuses: Annotated[list[str] | None, Query(alias="statuses")] = None,
    page_token: Annotated[str | None, Query(alias="pageToken")] = None,
) -> dict[str, Any]:
    project = get_project_doc(ctx.store, project_hash)
    node = node_by_uuid(project["workflow"], stage_uuid)
    if node is None or NODE_TYPES[node["type"]] is None:
        raise not_found(f"stage {stage_uuid} is not a stage of project {project_hash}")
    filters = {
        "user_emails": set(user_emails or []),
        "data_hashes": {h.lower() for h in data_hashes or []},
        "dataset_hashes": {h.lower() for h in dataset_hashes or []},
        "title": data_title_contains,
        "statuses": set(statuses or []),
    }
    page_size = int(app_state(request).setting("task_page_size", DEFAULT_TASK_PAGE_SIZE))
    ordered = models.tasks_of_stage(ctx.store, project_hash, stage_uuid, page_cursor(page_token))
    page = ordered_page(ordered, "created_at", page_size, lambda task: _matches(task, filters))
    return {"results": [task_dto(t) for t in page["results"]], "nextPageToken": page["nextPageToken"]}


@router.post("/projects/{project_hash}/workflow/stages/{stage_uuid}/actions")
def post_actions(project_hash: str, stage_uuid: str, actions: list[dict[str, Any]], ctx: Ctx) -> None:
    project = get_project_doc(ctx.store, project_hash)
    models.apply_actions(ctx.store, project, stage_uuid, actions, ctx.user_email)


@router.post("/projects/{project_hash}/workflow/stages/{stage_uuid}/move-tasks")
def move_tasks(project_hash: str, stage_uuid: str, body: dict[str, Any], ctx: Ctx) -> None:
    project = get_project_doc(ctx.store, project_hash)
    destination = str(body.get("destinationStageUuid") or body.get("destination_stage_uuid") or "")
    task_uuids = [str(t) for t in body.get("taskUuids") or body.get("task_uuids") or []]
    models.move_tasks(ctx.store, project, stage_uuid, task_uuids, destination, ctx.user_email)


@router.post("/projects/{project_hash}/priorities")
def set_priorities(project_hash: str, body: dict[str, Any], ctx: Ctx) -> None:
    get_project_doc(ctx.store, project_hash)
    models.set_priorities(
        ctx.store, project_hash, [(str(h), float(p)) for h, p in body.get("priorities") or []]
    )
