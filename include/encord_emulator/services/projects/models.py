"""Project documents: the only writer of kinds ``project`` and ``workflow_template``.

A project document (id = project hash) holds ``title``, ``description``, ``ontology_hash``,
``dataset_hashes`` and the workflow graph (see ``workflow.graph.build_graph``). Its tasks belong to the
workflow service, which keeps them in step through ``on_project_changed`` (called in the same transaction
whenever a project is written).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from encord_emulator.core.common import now_iso
from encord_emulator.core.errors import invalid_arguments, not_found
from encord_emulator.core.store import Store
from encord_emulator.services.datasets import models as datasets
from encord_emulator.services.datasets.models import DATASET_KIND
from encord_emulator.services.storage.models import ITEM_KIND
from encord_emulator.services.workflow import graph as workflow_graph

PROJECT_KIND = "project"
TEMPLATE_KIND = "workflow_template"
PROJECT_STATUSES = ("notStarted", "inProgress", "inReview", "paused", "completed", "cancelled", "archived")
NAMESPACE = uuid.UUID("9d2c4b7a-1e3f-4a5b-8c6d-7e8f9a0b1c2d")

ProjectHook = Callable[[Store, dict[str, Any]], None]
_PROJECT_CHANGED_HOOKS: list[ProjectHook] = []


def on_project_changed(hook: ProjectHook) -> ProjectHook:
    """Register ``hook(store, project)``, called after a project's workflow or datasets were written."""
    _PROJECT_CHANGED_HOOKS.append(hook)
    return hook


def project_hash_for(title: str) -> str:
    """The hash a seeded project gets when the seed names none (stable across re-seeding)."""
    return str(uuid.uuid5(NAMESPACE, f"project:{title}"))


def template_uuid_for(title: str) -> str:
    """The uuid a seeded workflow template gets when the seed names none (stable across re-seeding)."""
    return str(uuid.uuid5(NAMESPACE, f"workflow-template:{title}"))


def get_project_doc(store: Store, project_hash: str) -> dict[str, Any]:
    doc = store.get(PROJECT_KIND, project_hash)
    if doc is None:
        raise not_found(f"project {project_hash} does not exist")
    return doc


def all_projects(store: Store) -> list[dict[str, Any]]:
    return store.query(PROJECT_KIND)


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
    graph = workflow_graph.build_graph(project_hash, workflow_spec)
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
    _write(store, doc)
    return doc


def set_status(store: Store, project_hash: str, status: str) -> dict[str, Any]:
    if status not in PROJECT_STATUSES:
        raise invalid_arguments(f"project status must be one of {PROJECT_STATUSES}, got {status!r}")
    project = get_project_doc(store, project_hash)
    project.update(status=status, last_edited_at=now_iso())
    store.put(PROJECT_KIND, project_hash, project)
    return project


def change_datasets(store: Store, project_hash: str, dataset_hashes: list[str], add: bool) -> dict[str, Any]:
    """Attach (``add``) or detach datasets; detaching one that is not attached is an error."""
    project = get_project_doc(store, project_hash)
    for dataset_hash in dataset_hashes:
        if store.get(DATASET_KIND, dataset_hash) is None:
            raise not_found(f"dataset {dataset_hash} does not exist")
    attached = list(project["dataset_hashes"])
    if add:
        attached += [h for h in dataset_hashes if h not in attached]
    else:
        missing = [h for h in dataset_hashes if h not in attached]
        if missing:
            raise invalid_arguments(f"datasets {missing} are not attached to project {project_hash}")
        attached = [h for h in attached if h not in dataset_hashes]
    project["dataset_hashes"] = attached
    project["last_edited_at"] = now_iso()
    _write(store, project)
    return project


def _write(store: Store, project: dict[str, Any]) -> None:
    with store.transaction():
        store.put(PROJECT_KIND, project["project_hash"], project)
        for hook in _PROJECT_CHANGED_HOOKS:
            hook(store, project)


def projects_with_dataset(store: Store, dataset_hash: str) -> list[dict[str, Any]]:
    return [project for project in all_projects(store) if dataset_hash in project["dataset_hashes"]]


# ---------------------------------------------------------------- workflow templates


def put_template(store: Store, template_uuid: str, title: str, workflow_spec: list[dict[str, Any]]) -> None:
    workflow_graph.build_graph(template_uuid, workflow_spec)  # validates the stages
    doc = {"uuid": template_uuid, "title": title, "workflow_spec": list(workflow_spec)}
    store.put(TEMPLATE_KIND, template_uuid, doc)


def template_spec(store: Store, template_id: Any) -> list[dict[str, Any]]:
    """The stages of a seeded workflow template (``workflow_templates`` seed section), or of a project
    whose hash is given as the template id (a copy of that project's workflow)."""
    if not template_id:
        return workflow_graph.default_workflow_spec()
    template = store.get(TEMPLATE_KIND, str(template_id)) or store.get(PROJECT_KIND, str(template_id))
    if template is None:
        raise not_found(
            f"workflow template {template_id} does not exist (a seeded template uuid or a project hash)"
        )
    return list(template["workflow_spec"])


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
    """Data views of every row of the project's datasets (first dataset wins on a shared data hash);
    of ``data_hashes`` only when given, read by id: O(wanted), not a scan of the datasets."""
    views: dict[str, dict[str, Any]] = {}
    for dataset_hash in project["dataset_hashes"]:
        dataset = store.get(DATASET_KIND, dataset_hash) or {}
        if data_hashes is None:
            candidates = datasets.rows_of_dataset(store, dataset_hash)
        else:
            candidates = list(datasets.rows_by_data_hash(store, dataset_hash, sorted(data_hashes)).values())
        rows = [row for row in candidates if row["data_hash"] not in views]
        items = store.get_many(ITEM_KIND, [str(row.get("item_uuid") or row["data_hash"]) for row in rows])
        for row in rows:
            views[row["data_hash"]] = data_view(
                store, row, dataset, items.get(str(row.get("item_uuid") or row["data_hash"]))
            )
    return list(views.values())
