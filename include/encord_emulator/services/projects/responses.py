"""Projects: ``GET /v2/public/projects`` (+ ``/{p}``, ``/datasets``, ``/branches``, ``/status``), legacy
``create_project`` / ``add_datasets`` / ``remove_datasets``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from encord_emulator.core.common import filter_listing, keyset_page, new_uuid
from encord_emulator.core.errors import invalid_arguments, not_found
from encord_emulator.core.registry import Ctx, RequestContext, rpc
from encord_emulator.core.store import Store
from encord_emulator.services.datasets.models import DATASET_KIND
from encord_emulator.services.ontologies import models as ontologies
from encord_emulator.services.ontologies.models import ONTOLOGY_KIND
from encord_emulator.services.projects import models
from encord_emulator.services.projects.models import PROJECT_KIND, get_project_doc
from encord_emulator.services.workflow.graph import sdk_stages

DEFAULT_PROJECT_PAGE_SIZE = 100

router = APIRouter()


def project_dto(store: Store, project: dict[str, Any]) -> dict[str, Any]:
    """``ProjectDTO`` (every field present; routers and start hidden from the workflow)."""
    ontology = store.get(ONTOLOGY_KIND, project["ontology_hash"]) or {}
    return {
        "projectHash": project["project_hash"],
        "projectType": "workflow",
        "status": project["status"],
        "title": project["title"],
        "description": project["description"],
        "createdAt": project["created_at"],
        "creatorEmail": project["creator_email"],
        "lastEditedAt": project["last_edited_at"],
        "ontologyHash": project["ontology_hash"],
        "editorOntology": ontology.get("editor") or {"objects": [], "classifications": []},
        "userRole": 0,
        "sourceProjects": None,
        "workflowManagerUuid": str(uuid.uuid5(models.NAMESPACE, f"wfm:{project['project_hash']}")),
        "workflow": {"stages": sdk_stages(project["workflow"])},
    }


# ---------------------------------------------------------------- v2 routes


@router.get("/projects")
def list_projects(request: Request, ctx: Ctx) -> dict[str, Any]:
    """``user_client.list_projects(title_eq=, title_like=, desc_eq=, ..., tags_anyof=)``, keyset-paged by title
    (page size setting ``project_page_size``). The emulator has no tags: a tag filter matches nothing."""
    params = request.query_params
    found = filter_listing(ctx.store.query(PROJECT_KIND), params)
    if params.getlist("tagsAnyof"):
        found = []
    page_size = int(ctx.app.setting("project_page_size", DEFAULT_PROJECT_PAGE_SIZE))
    page = keyset_page(found, "title", page_size, params.get("pageToken"), id_key="project_hash")
    return {
        "results": [project_dto(ctx.store, p) for p in page["results"]],
        "nextPageToken": page["nextPageToken"],
    }


@router.put("/projects/{project_hash}/status")
def put_project_status(project_hash: str, body: dict[str, Any], ctx: Ctx) -> None:
    """``project.set_status(ProjectStatus.X)``."""
    models.set_status(ctx.store, project_hash, str(body.get("status")))


@router.get("/projects/{project_hash}")
def get_project(project_hash: str, ctx: Ctx) -> dict[str, Any]:
    return project_dto(ctx.store, get_project_doc(ctx.store, project_hash))


@router.get("/projects/{project_hash}/datasets")
def list_project_datasets(project_hash: str, ctx: Ctx) -> dict[str, Any]:
    project = get_project_doc(ctx.store, project_hash)
    results = []
    for dataset_hash in project["dataset_hashes"]:
        dataset = ctx.store.get(DATASET_KIND, dataset_hash) or {}
        results.append(
            {
                "datasetHash": dataset_hash,
                "title": dataset.get("title", ""),
                "description": dataset.get("description") or "",
            }
        )
    return {"results": results, "nextPageToken": None}


# ---------------------------------------------------------------- legacy RPC


@rpc("project", "projectdataset", "POST")
def add_datasets(ctx: RequestContext, uid: Any, payload: Any) -> bool:
    hashes = [str(h) for h in (payload or {}).get("dataset_hashes") or []]
    return _change_datasets(ctx, hashes, add=True)


@rpc("project", "projectdataset", "DELETE")
def remove_datasets(ctx: RequestContext, uid: Any, payload: Any) -> bool:
    hashes = [str(h) for h in (uid if isinstance(uid, list) else [uid] if uid else [])]
    return _change_datasets(ctx, hashes, add=False)


def _change_datasets(ctx: RequestContext, dataset_hashes: list[str], add: bool) -> bool:
    models.change_datasets(ctx.store, ctx.resource_id, dataset_hashes, add)
    return True


@rpc("user", "project", "POST")
def create_project(ctx: RequestContext, uid: Any, payload: Any) -> str:
    """``user_client.create_project``: the default Annotate -> Review -> Complete workflow."""
    body = payload or {}
    if not body.get("title"):
        raise invalid_arguments("create_project needs a title")
    dataset_hashes = [str(h) for h in body.get("dataset_hashes") or []]
    for dataset_hash in dataset_hashes:
        if ctx.store.get(DATASET_KIND, dataset_hash) is None:
            raise not_found(f"dataset {dataset_hash} does not exist")
    ontology_hash = str(body.get("ontology_hash") or "")
    if ontology_hash:
        ontologies.get_ontology_doc(ctx.store, ontology_hash)
    else:
        empty: dict[str, Any] = {"objects": [], "classifications": []}
        ontology_hash = ontologies.put_ontology(
            ctx.store, new_uuid(), f"{body['title']} ontology", "", empty
        )["uuid"]
    spec = models.template_spec(ctx.store, body.get("workflow_template_id"))
    project = models.put_project(
        ctx.store,
        new_uuid(),
        title=str(body["title"]),
        description=str(body.get("description") or ""),
        ontology_hash=ontology_hash,
        dataset_hashes=dataset_hashes,
        workflow_spec=spec,
        creator_email=ctx.user_email,
    )
    return str(project["project_hash"])
