"""Admin routes of the simulated annotators: ``POST /admin/annotate``, ``GET /admin/projects/{p}/tasks``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from encord_emulator.core.auth import require_loopback
from encord_emulator.core.registry import app_state
from encord_emulator.services.annotators.models import run_annotators
from encord_emulator.services.projects.models import get_project_doc
from encord_emulator.services.workflow.graph import node_by_uuid, stage_counts
from encord_emulator.services.workflow.models import tasks_of_project

root_router = APIRouter(prefix="/admin")


# ---------------------------------------------------------------- admin routes


@root_router.post("/annotate")
def post_annotate(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Run the simulated annotators (and reviewers) over a project once; returns counts per stage."""
    require_loopback(request)
    return run_annotators(app_state(request), body)


@root_router.get("/projects/{project_hash}/tasks")
def get_project_tasks(request: Request, project_hash: str) -> dict[str, Any]:
    """Task count per stage title, and every task's stage (for tests, demo and debugging)."""
    require_loopback(request)
    state = app_state(request)
    project = get_project_doc(state.store, project_hash)
    graph = project["workflow"]
    tasks = tasks_of_project(state.store, project_hash)
    return {
        "stages": stage_counts(graph, tasks),
        "tasks": [
            {
                "uuid": t["uuid"],
                "data_hash": t["data_hash"],
                "data_title": t["data_title"],
                "stage": (node_by_uuid(graph, t["stage_uuid"]) or {}).get("title"),
                "status": t["status"],
            }
            for t in tasks
        ],
    }
