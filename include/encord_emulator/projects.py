"""Projects: ``GET /v2/public/projects/{p}`` (+ ``/datasets``), legacy ``create_project`` /
``add_datasets`` / ``remove_datasets``, the ``projects`` seed section, and task creation.

A project document (kind ``project``, id = project hash) holds ``title``, ``description``,
``ontology_hash``, ``dataset_hashes`` and the workflow graph (see ``workflow.build_graph``).
Data rows of attached datasets (A1's kind ``data_row``) become tasks at the stage after start;
``sync_project_tasks`` does that lazily before any project read that shows tasks or label rows.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from encord_emulator import datasets, workflow
from encord_emulator import ontology as ontology_module
from encord_emulator.common import filter_listing, keyset_page, new_uuid, now_iso
from encord_emulator.errors import invalid_arguments, not_found
from encord_emulator.registry import AppState, RequestContext, current_context, register_seed_section, rpc
from encord_emulator.seed import SeedError, entries
from encord_emulator.store import Store

PROJECT_KIND = workflow.PROJECT_KIND
SYNC_KIND = "project_sync"
TEMPLATE_KIND = "workflow_template"
PROJECT_STATUSES = ("notStarted", "inProgress", "inReview", "paused", "completed", "cancelled", "archived")
DEFAULT_PROJECT_PAGE_SIZE = 100
DATASET_KIND = "dataset"
DATA_ROW_KIND = "data_row"
ITEM_KIND = "item"
_NAMESPACE = uuid.UUID("9d2c4b7a-1e3f-4a5b-8c6d-7e8f9a0b1c2d")

router = APIRouter()
Ctx = Annotated[RequestContext, Depends(current_context)]


# ---------------------------------------------------------------- documents


def project_hash_for(title: str) -> str:
    """The hash a seeded project gets when the seed names none (stable across re-seeding)."""
    return str(uuid.uuid5(_NAMESPACE, f"project:{title}"))


def put_project(
    store: Store,
    project_hash: str,
    *,
    title: str,
    description: str,
    ontology_hash: str,
    dataset_hashes: list[str],
    workflow_spec: list[dict[str, Any]],
    creator_email: str,
) -> dict[str, Any]:
    graph = workflow.build_graph(project_hash, workflow_spec)
    existing = store.get(PROJECT_KIND, project_hash) or {}
    stamp = now_iso()
    doc = {
        "project_hash": project_hash,
        "title": title,
        "description": description,
        "ontology_hash": ontology_hash,
        "dataset_hashes": dataset_hashes,
        "workflow": graph,
        "workflow_spec": workflow_spec,
        "status": existing.get("status", "inProgress"),
        "creator_email": existing.get("creator_email") or creator_email,
        "created_at": existing.get("created_at") or stamp,
        "last_edited_at": stamp,
    }
    with store.transaction():
        store.put(PROJECT_KIND, project_hash, doc)
        store.delete(SYNC_KIND, project_hash)
        _rehome_orphan_tasks(store, doc)
    return doc


def _rehome_orphan_tasks(store: Store, project: dict[str, Any]) -> None:
    """After a workflow change, tasks whose stage vanished re-enter at the stage after start."""
    graph = project["workflow"]
    for task in workflow.tasks_of_project(store, project["project_hash"]):
        node = workflow.node_by_uuid(graph, task["stage_uuid"])
        if node is None or workflow.NODE_TYPES[node["type"]] is None:
            workflow.move_task(graph, task, workflow.start_node(graph)["uuid"], "emulator")
            store.put(workflow.TASK_KIND, task["uuid"], task)


def project_dto(store: Store, project: dict[str, Any]) -> dict[str, Any]:
    """``ProjectDTO`` (every field present; routers and start hidden from the workflow)."""
    ontology = store.get(ontology_module.ONTOLOGY_KIND, project["ontology_hash"]) or {}
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
        "workflowManagerUuid": str(uuid.uuid5(_NAMESPACE, f"wfm:{project['project_hash']}")),
        "workflow": {"stages": workflow.sdk_stages(project["workflow"])},
    }


def find_dataset(store: Store, ref: str) -> dict[str, Any] | None:
    """A dataset by hash or by title."""
    return store.get(DATASET_KIND, ref) or next(iter(store.query(DATASET_KIND, title=ref)), None)


# ---------------------------------------------------------------- data of a project


def data_view(
    store: Store, row: dict[str, Any], dataset: dict[str, Any], item: dict[str, Any] | None
) -> dict[str, Any]:
    """What the project side needs of one data row: identity, type, media facts, backing item."""
    item = item or {}
    data_type = datasets.DATA_TYPE.get(str(item.get("item_type", "image")), "IMAGE")
    frames = item.get("frame_count")
    if data_type == "IMG_GROUP":
        frames = len(item.get("children") or [])
    return {
        "data_hash": row["data_hash"],
        "dataset_hash": row["dataset_hash"],
        "dataset_title": dataset.get("title", ""),
        "data_title": item.get("name") or row.get("data_title") or row["data_hash"],
        "data_type": data_type,
        "item_uuid": row.get("item_uuid") or row["data_hash"],
        "item": item,
        "created_at": row.get("created_at") or now_iso(),
        "number_of_frames": int(frames or 1),
    }


def project_data(
    store: Store, project: dict[str, Any], data_hashes: set[str] | None = None
) -> list[dict[str, Any]]:
    """Data views of every row of the project's datasets (first dataset wins on a shared data hash)."""
    views: dict[str, dict[str, Any]] = {}
    for dataset_hash in project["dataset_hashes"]:
        dataset = store.get(DATASET_KIND, dataset_hash) or {}
        if data_hashes is None:
            candidates = datasets.rows_of_dataset(store, dataset_hash)
        else:  # by id: O(wanted), not a scan of the dataset
            ids = [datasets.row_id(dataset_hash, data_hash) for data_hash in sorted(data_hashes)]
            candidates = list(store.get_many(DATA_ROW_KIND, ids).values())
        rows = [row for row in candidates if row["data_hash"] not in views]
        items = store.get_many(ITEM_KIND, [str(row.get("item_uuid") or row["data_hash"]) for row in rows])
        for row in rows:
            views[row["data_hash"]] = data_view(
                store, row, dataset, items.get(str(row.get("item_uuid") or row["data_hash"]))
            )
    return list(views.values())


def sync_project_tasks(state: AppState, project_hash: str) -> dict[str, Any]:
    """Create a task at the entry stage for every attached data row that has none; returns the project."""
    store = state.store
    project = workflow.get_project_doc(store, project_hash)
    # rows_of_dataset also mirrors new items of a dataset's backing folder into rows.
    counts = {
        dataset_hash: len(datasets.rows_of_dataset(store, dataset_hash))
        for dataset_hash in project["dataset_hashes"]
    }
    marker = store.get(SYNC_KIND, project_hash)
    if marker is not None and marker.get("counts") == counts:
        return project
    with store.transaction():
        have = {task["data_hash"] for task in workflow.tasks_of_project(store, project_hash)}
        stamp = now_iso()
        for view in project_data(store, project):
            if view["data_hash"] not in have:
                task = workflow.new_task(project, view, stamp)
                store.put(workflow.TASK_KIND, task["uuid"], task)
        store.put(SYNC_KIND, project_hash, {"project_hash": project_hash, "counts": counts})
    return project


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


def set_status(store: Store, project_hash: str, status: str) -> dict[str, Any]:
    if status not in PROJECT_STATUSES:
        raise invalid_arguments(f"project status must be one of {PROJECT_STATUSES}, got {status!r}")
    project = workflow.get_project_doc(store, project_hash)
    project.update(status=status, last_edited_at=now_iso())
    store.put(PROJECT_KIND, project_hash, project)
    return project


@router.put("/projects/{project_hash}/status")
def put_project_status(project_hash: str, body: dict[str, Any], ctx: Ctx) -> None:
    """``project.set_status(ProjectStatus.X)``."""
    set_status(ctx.store, project_hash, str(body.get("status")))


@router.get("/projects/{project_hash}/branches")
def list_branches(project_hash: str, ctx: Ctx) -> dict[str, Any]:
    """``project.list_branches()``: ``main`` and every branch a label row was created on."""
    workflow.get_project_doc(ctx.store, project_hash)
    names = {str(label["branch_name"]) for label in ctx.store.query("label_row", project_hash=project_hash)}
    return {"results": [{"name": name} for name in sorted(names | {"main"})], "nextPageToken": None}


@router.get("/projects/{project_hash}")
def get_project(project_hash: str, ctx: Ctx) -> dict[str, Any]:
    return project_dto(ctx.store, workflow.get_project_doc(ctx.store, project_hash))


@router.get("/projects/{project_hash}/datasets")
def list_project_datasets(project_hash: str, ctx: Ctx) -> dict[str, Any]:
    project = workflow.get_project_doc(ctx.store, project_hash)
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
    project = workflow.get_project_doc(ctx.store, ctx.resource_id)
    for dataset_hash in dataset_hashes:
        if ctx.store.get(DATASET_KIND, dataset_hash) is None:
            raise not_found(f"dataset {dataset_hash} does not exist")
    attached = list(project["dataset_hashes"])
    if add:
        attached += [h for h in dataset_hashes if h not in attached]
    else:
        missing = [h for h in dataset_hashes if h not in attached]
        if missing:
            raise invalid_arguments(f"datasets {missing} are not attached to project {ctx.resource_id}")
        attached = [h for h in attached if h not in dataset_hashes]
    project["dataset_hashes"] = attached
    project["last_edited_at"] = now_iso()
    with ctx.store.transaction():
        ctx.store.put(PROJECT_KIND, project["project_hash"], project)
        ctx.store.delete(SYNC_KIND, project["project_hash"])
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
        ontology_module.get_ontology_doc(ctx.store, ontology_hash)
    else:
        empty: dict[str, Any] = {"objects": [], "classifications": []}
        ontology_hash = ontology_module.put_ontology(
            ctx.store, new_uuid(), f"{body['title']} ontology", "", empty
        )["uuid"]
    spec = _template_spec(ctx.store, body.get("workflow_template_id"))
    project = put_project(
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


def _template_spec(store: Store, template_id: Any) -> list[dict[str, Any]]:
    """The stages of a seeded workflow template (``workflow_templates`` seed section), or of a project
    whose hash is given as the template id (a copy of that project's workflow)."""
    if not template_id:
        return workflow.default_workflow_spec()
    template = store.get(TEMPLATE_KIND, str(template_id)) or store.get(PROJECT_KIND, str(template_id))
    if template is None:
        raise not_found(
            f"workflow template {template_id} does not exist (a seeded template uuid or a project hash)"
        )
    return list(template["workflow_spec"])


# ---------------------------------------------------------------- seed


def _seed_projects(state: AppState, value: Any) -> None:
    for index, entry in enumerate(entries("projects", value)):
        title = entry.get("title")
        if not title:
            raise SeedError(f"seed section 'projects' entry #{index}: missing 'title'")
        where = f"seed section 'projects' entry #{index} ({title})"
        ontology = ontology_module.find_ontology(state.store, str(entry.get("ontology", "")))
        if ontology is None:
            raise SeedError(
                f"{where}: ontology {entry.get('ontology')!r} is not seeded (give its title or uuid)"
            )
        dataset_hashes = []
        for ref in entry.get("datasets") or []:
            dataset = find_dataset(state.store, str(ref))
            if dataset is None:
                raise SeedError(f"{where}: dataset {ref!r} does not exist (give its title or hash)")
            dataset_hashes.append(str(dataset["dataset_hash"]))
        try:
            put_project(
                state.store,
                str(entry.get("project_hash") or project_hash_for(str(title))),
                title=str(title),
                description=str(entry.get("description") or ""),
                ontology_hash=str(ontology["uuid"]),
                dataset_hashes=dataset_hashes,
                workflow_spec=entry.get("workflow") or workflow.default_workflow_spec(),
                creator_email=str(entry.get("creator_email") or "admin@emulator.local"),
            )
        except ValueError as exc:
            raise SeedError(f"{where}: {exc}") from exc


def template_uuid_for(title: str) -> str:
    """The uuid a seeded workflow template gets when the seed names none (stable across re-seeding)."""
    return str(uuid.uuid5(_NAMESPACE, f"workflow-template:{title}"))


def _seed_workflow_templates(state: AppState, value: Any) -> None:
    for index, entry in enumerate(entries("workflow_templates", value)):
        title = entry.get("title")
        where = f"seed section 'workflow_templates' entry #{index} ({title})"
        if not title or not entry.get("workflow"):
            raise SeedError(f"{where}: needs 'title' and 'workflow' (a list of stages)")
        template_uuid = str(entry.get("uuid") or template_uuid_for(str(title)))
        try:
            workflow.build_graph(template_uuid, entry["workflow"])  # validates the stages
        except ValueError as exc:
            raise SeedError(f"{where}: {exc}") from exc
        doc = {"uuid": template_uuid, "title": str(title), "workflow_spec": list(entry["workflow"])}
        state.store.put(TEMPLATE_KIND, template_uuid, doc)


register_seed_section("workflow_templates", _seed_workflow_templates)
register_seed_section("projects", _seed_projects)
