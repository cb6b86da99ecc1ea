"""Label rows over legacy RPC (ResourceType ``project``): ``labelrowmetadata`` GET
(``list_label_rows_v2``), ``labelrow`` PUT/GET/POST (create / initialise / save) and
``labelworkflowgraphnode`` POST (``workflow_complete`` / ``workflow_reopen``).

A label row document (kind ``label_row``, id = label hash) is keyed to ``(project, data hash,
branch)`` and keeps what the SDK saved (per-data-unit ``labels`` plus the answer maps). Everything
else in the label dict (titles, links, sizes, status, stage) is rendered fresh from the data row,
the backing storage item and the task on every read.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from encord_emulator.core.common import legacy_time
from encord_emulator.core.errors import EmulatorError, invalid_arguments
from encord_emulator.core.registry import AppState, Ctx, RequestContext, rpc
from encord_emulator.core.store import Store
from encord_emulator.services.labels import models
from encord_emulator.services.labels.models import MAIN_BRANCH, get_label_or_404, view_for, views_for
from encord_emulator.services.projects.models import get_project_doc, project_data
from encord_emulator.services.storage import models as storage
from encord_emulator.services.workflow import models as workflow
from encord_emulator.services.workflow.graph import node_by_uuid, start_node

router = APIRouter()
# DataRow data_type -> label dict data_type.
LABEL_DATA_TYPES = {
    "IMAGE": "image",
    "VIDEO": "video",
    "IMG_GROUP": "img_group",
    "DICOM": "dicom",
    "NIFTI": "nifti",
    "AUDIO": "audio",
    "PDF": "pdf",
    "PLAIN_TEXT": "plain_text",
}
_FRAME_KEYED = {"VIDEO", "DICOM", "NIFTI", "PDF", "AUDIO", "PLAIN_TEXT"}
_STATUS_BY_STAGE = {"annotate": "QUEUED", "agent": "QUEUED", "review": "IN_REVIEW", "complete": "COMPLETED"}


# ---------------------------------------------------------------- label row documents


def label_status(
    task: dict[str, Any] | None, node: dict[str, Any] | None, label: dict[str, Any] | None
) -> str:
    if label is None:
        return "NOT_LABELLED"
    kind = node["type"] if node else ""
    if kind == "complete":
        return "REVIEWED" if task and task.get("reviewed") else "LABELLED"
    if kind == "review":
        return "LABELLED"
    return "LABEL_IN_PROGRESS"


def annotation_task_status(task: dict[str, Any] | None, node: dict[str, Any] | None) -> str | None:
    if task is None or node is None:
        return None
    if node["type"] in ("annotate", "agent"):
        if task["status"] == "REOPENED":
            return "RETURNED"
        return "ASSIGNED" if task.get("assignee") else "QUEUED"
    return _STATUS_BY_STAGE.get(node["type"])


def _mime(view: dict[str, Any]) -> str | None:
    item = view["item"]
    return item.get("mime_type") or {"IMAGE": "image/jpeg", "VIDEO": "video/mp4"}.get(view["data_type"])


def _children(view: dict[str, Any]) -> list[dict[str, Any]]:
    children = []
    for index, child in enumerate(view["item"].get("children") or []):
        # Same image hash as datasets.data_row_dto's images_data.
        child_hash = f"{view['data_hash']}-{index}"
        children.append({**child, "image_hash": child_hash, "index": index})
    return children


# ---------------------------------------------------------------- metadata (list_label_rows_v2)


def metadata_dict(
    view: dict[str, Any],
    task: dict[str, Any] | None,
    node: dict[str, Any] | None,
    label: dict[str, Any] | None,
    branch: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    item = view["item"]
    result: dict[str, Any] = {
        "label_hash": label["label_hash"] if label else None,
        "created_at": legacy_time(label["created_at"]) if label else None,
        "last_edited_at": legacy_time(label["last_edited_at"]) if label else None,
        "branch_name": branch,
        "data_hash": view["data_hash"],
        "dataset_hash": view["dataset_hash"],
        "dataset_title": view["dataset_title"],
        "data_title": view["data_title"],
        "data_type": view["data_type"],
        "data_link": item.get("url"),
        "spaces": {},
        "label_status": label_status(task, node, label),
        "annotation_task_status": annotation_task_status(task, node),
        "workflow_graph_node": {"uuid": node["uuid"], "title": node["title"]}
        if node and payload.get("include_workflow_graph_node", True)
        else None,
        "is_shadow_data": False,
        "number_of_frames": view["number_of_frames"],
        "frames_per_second": item.get("fps"),
        "duration": item.get("duration"),
        "height": item.get("height"),
        "width": item.get("width"),
        "audio_sample_rate": item.get("audio_sample_rate"),
        "audio_codec": item.get("audio_codec"),
        "audio_bit_depth": item.get("audio_bit_depth"),
        "audio_num_channels": item.get("audio_num_channels"),
        "task_uuid": task["uuid"] if task else None,
        "priority": task.get("priority") if task else None,
        "file_type": _mime(view),
        "is_valid": True,
        "backing_item_uuid": view["item_uuid"],
        "assigned_user_email": task.get("assignee") if task else None,
        "last_actioned_by_user_email": task.get("last_actioned_by") if task else None,
    }
    if payload.get("include_client_metadata"):
        result["client_metadata"] = item.get("client_metadata") or {}
    if payload.get("include_images_data") and view["data_type"] == "IMG_GROUP":
        result["images_data"] = [
            {
                "index": child["index"],
                "title": child.get("title") or child.get("name") or "",
                "file_type": child.get("mime_type") or "image/jpeg",
                "height": child.get("height"),
                "width": child.get("width"),
                "image_hash": child["image_hash"],
            }
            for child in _children(view)
        ]
    return result


def _like(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (``%``, ``_``) as an anchored regex."""
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("^" + "".join(parts) + "$", re.DOTALL)


def _parse_time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise invalid_arguments(f"{name} is not an ISO 8601 timestamp: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _row_filter(payload: dict[str, Any]) -> Any:
    data_hashes = set(payload.get("data_hashes") or [])
    label_hashes = set(payload.get("label_hashes") or [])
    title_like = _like(payload["data_title_like"]) if payload.get("data_title_like") else None
    node_like = (
        _like(payload["workflow_graph_node_title_like"])
        if payload.get("workflow_graph_node_title_like")
        else None
    )
    edited_after = (
        _parse_time(payload["edited_after"], "edited_after") if payload.get("edited_after") else None
    )
    edited_before = (
        _parse_time(payload["edited_before"], "edited_before") if payload.get("edited_before") else None
    )
    statuses = set(payload.get("label_statuses") or [])

    def keep(
        view: dict[str, Any], node: dict[str, Any] | None, label: dict[str, Any] | None, status: str | None
    ) -> bool:
        if data_hashes and view["data_hash"] not in data_hashes:
            return False
        if payload.get("label_hashes") is not None and (
            label is None or label["label_hash"] not in label_hashes
        ):
            return False
        if label is None and payload.get("include_uninitialised_labels") is False:
            return False
        if payload.get("data_title_eq") is not None and view["data_title"] != payload["data_title_eq"]:
            return False
        if title_like and not title_like.match(view["data_title"]):
            return False
        node_title = node["title"] if node else None
        if (
            payload.get("workflow_graph_node_title_eq") is not None
            and node_title != payload["workflow_graph_node_title_eq"]
        ):
            return False
        if node_like and (node_title is None or not node_like.match(node_title)):
            return False
        if statuses and status not in statuses:
            return False
        if edited_after or edited_before:
            if label is None:
                return False
            edited = datetime.fromisoformat(label["last_edited_at"])
            if (edited_after and edited < edited_after) or (edited_before and edited > edited_before):
                return False
        return True

    return keep


@rpc("project", "labelrowmetadata", "GET")
def list_label_row_metadata(ctx: RequestContext, uid: Any, payload: Any) -> list[dict[str, Any]]:
    payload = payload or {}
    if payload.get("include_all_label_branches") and payload.get("branch_name"):
        raise invalid_arguments("branch_name cannot be combined with include_all_label_branches")
    project = get_project_doc(ctx.store, ctx.resource_id)
    graph = project["workflow"]
    wanted, labels = _filtered_labels(ctx.store, project["project_hash"], payload)
    views = project_data(ctx.store, project, wanted)
    tasks = _tasks_of(ctx.store, project["project_hash"], wanted)
    if labels is None:
        labels = models.labels_by_data_hash(ctx.store, project["project_hash"])
    keep = _row_filter(payload)
    rows = []
    for view in views:
        task = tasks.get(view["data_hash"])
        node = node_by_uuid(graph, task["stage_uuid"]) if task else None
        for branch in _branches(view, labels, payload):
            label = labels.get((view["data_hash"], branch))
            if keep(view, node, label, annotation_task_status(task, node)):
                rows.append(metadata_dict(view, task, node, label, branch, payload))
    return rows


def _filtered_labels(
    store: Store, project_hash: str, payload: dict[str, Any]
) -> tuple[set[str] | None, dict[tuple[str, str], dict[str, Any]] | None]:
    """(data hashes, label rows by (data hash, branch)) a ``label_hashes`` / ``data_hashes`` filter can match,
    read by id or index so a filtered listing costs O(filter); (None, None) without such a filter."""
    if payload.get("label_hashes") is not None:
        labels = models.labels_by_hash(store, project_hash, [str(h) for h in payload["label_hashes"]])
        wanted = {data_hash for data_hash, _ in labels}
        if payload.get("data_hashes"):
            wanted &= set(payload["data_hashes"])
        return wanted, labels
    if payload.get("data_hashes"):
        wanted = set(payload["data_hashes"])
        return wanted, models.labels_of_data(store, project_hash, wanted)
    return None, None


def _tasks_of(store: Store, project_hash: str, wanted: set[str] | None) -> dict[str, dict[str, Any]]:
    """Tasks by data hash: of ``wanted`` only (by id) when it is given."""
    if wanted is None:
        return {task["data_hash"]: task for task in workflow.tasks_of_project(store, project_hash)}
    return workflow.tasks_by_data_hash(store, project_hash, wanted)


def _branches(
    view: dict[str, Any], labels: dict[tuple[str, str], dict[str, Any]], payload: dict[str, Any]
) -> list[str]:
    if payload.get("include_all_label_branches"):
        found = sorted(
            {branch for data_hash, branch in labels if data_hash == view["data_hash"]} | {MAIN_BRANCH}
        )
        return found
    return [str(payload.get("branch_name") or MAIN_BRANCH)]


# ---------------------------------------------------------------- label dicts


def _data_link(
    state: AppState, item: dict[str, Any], signed: bool, child_index: int | None = None
) -> str | None:
    if signed and item:
        url = storage.signed_url(state, item, child_index or 0)
        if url:
            return url
    if child_index is not None:
        return (item.get("children") or [])[child_index].get("url")
    return item.get("url")


def data_units(state: AppState, view: dict[str, Any], signed: bool) -> dict[str, dict[str, Any]]:
    """Data units of a fresh (label-less) label dict for ``view``'s data type."""
    item = view["item"]
    data_type = view["data_type"]
    base = {
        "data_hash": view["data_hash"],
        "data_title": view["data_title"],
        "data_type": _mime(view) or "application/octet-stream",
        "data_sequence": 0,
    }
    if data_type == "IMG_GROUP":
        return {
            child["image_hash"]: {
                "data_hash": child["image_hash"],
                "data_title": child.get("title") or child.get("name") or child["image_hash"],
                "data_type": child.get("mime_type") or "image/jpeg",
                "data_sequence": child["index"],
                "data_link": _data_link(state, item, signed, child["index"]),
                "width": child.get("width"),
                "height": child.get("height"),
                "labels": {"objects": [], "classifications": []},
            }
            for child in _children(view)
        }
    unit = {
        **base,
        "data_link": _data_link(state, item, signed),
        "width": item.get("width"),
        "height": item.get("height"),
    }
    if data_type == "VIDEO":
        unit.update(data_fps=item.get("fps"), data_duration=item.get("duration"))
    if data_type == "AUDIO":
        unit.update(
            audio_codec=item.get("audio_codec"),
            audio_sample_rate=item.get("audio_sample_rate"),
            audio_num_channels=item.get("audio_num_channels"),
            audio_bit_depth=item.get("audio_bit_depth"),
        )
    unit["labels"] = {} if data_type in _FRAME_KEYED else {"objects": [], "classifications": []}
    return {view["data_hash"]: unit}


def label_dict(
    state: AppState,
    project: dict[str, Any],
    view: dict[str, Any],
    label: dict[str, Any],
    *,
    signed: bool,
    object_hashes: set[str] | None = None,
    classification_hashes: set[str] | None = None,
) -> dict[str, Any]:
    """The full Encord label dict for ``label`` (stored labels over freshly rendered data units)."""
    task = workflow.get_task(state.store, project["project_hash"], view["data_hash"])
    node = node_by_uuid(project["workflow"], task["stage_uuid"]) if task else None
    content = label.get("content") or {}
    units = data_units(state, view, signed)
    for unit_hash, unit in units.items():
        stored = (content.get("units") or {}).get(unit_hash)
        if stored is not None:
            unit["labels"] = _filter_unit_labels(stored, object_hashes)
    return {
        "label_hash": label["label_hash"],
        "branch_name": label["branch_name"],
        "created_at": legacy_time(label["created_at"]),
        "last_edited_at": legacy_time(label["last_edited_at"]),
        "dataset_hash": view["dataset_hash"],
        "dataset_title": view["dataset_title"],
        "data_title": view["data_title"],
        "data_hash": view["data_hash"],
        "data_type": LABEL_DATA_TYPES.get(view["data_type"], "image"),
        "label_status": label_status(task, node, label),
        "annotation_task_status": annotation_task_status(task, node),
        "is_valid": True,
        "spaces": content.get("spaces") or {},
        "data_units": units,
        "object_answers": _filter_answers(content.get("object_answers") or {}, None),
        "classification_answers": _filter_answers(
            content.get("classification_answers") or {}, classification_hashes
        ),
        "object_actions": content.get("object_actions") or {},
    }


def _filter_unit_labels(labels: dict[str, Any], object_hashes: set[str] | None) -> dict[str, Any]:
    if object_hashes is None:
        return labels
    if "objects" in labels:
        return {**labels, "objects": [o for o in labels["objects"] if o.get("featureHash") in object_hashes]}
    return {frame: _filter_unit_labels(value, object_hashes) for frame, value in labels.items()}


def _filter_answers(answers: dict[str, Any], feature_hashes: set[str] | None) -> dict[str, Any]:
    if feature_hashes is None:
        return answers
    return {key: value for key, value in answers.items() if value.get("featureHash") in feature_hashes}


# ---------------------------------------------------------------- labelrow PUT (create)


@rpc("project", "labelrow", "PUT")
def put_label_rows(ctx: RequestContext, uid: Any, payload: Any) -> Any:
    payload = payload or {}
    project = get_project_doc(ctx.store, ctx.resource_id)
    branch = str(payload.get("branch_name") or MAIN_BRANCH)
    data_hashes = uid if isinstance(uid, list) else [uid]
    results = []
    for data_hash in data_hashes:
        label = models.create_label_row(ctx.store, project, str(data_hash), branch)
        view = view_for(ctx.store, project, str(data_hash))
        results.append(label_dict(ctx.app, project, view, label, signed=bool(payload.get("get_signed_url"))))
    return results if isinstance(uid, list) else results[0]


# ---------------------------------------------------------------- labelrow GET (initialise)


@rpc("project", "labelrow", "GET")
def get_label_rows(ctx: RequestContext, uid: Any, payload: Any) -> Any:
    payload = payload or {}
    project = get_project_doc(ctx.store, ctx.resource_id)
    label_hashes = uid if isinstance(uid, list) else [uid]
    object_hashes = payload.get("include_object_feature_hashes")
    classification_hashes = payload.get("include_classification_feature_hashes")
    labels = [get_label_or_404(ctx.store, ctx.resource_id, str(label_hash)) for label_hash in label_hashes]
    views = views_for(ctx.store, project, [label["data_hash"] for label in labels])
    results = []
    for label in labels:
        results.append(
            label_dict(
                ctx.app,
                project,
                views[label["data_hash"]],
                label,
                signed=bool(payload.get("get_signed_url")),
                object_hashes=set(object_hashes) if object_hashes is not None else None,
                classification_hashes=set(classification_hashes)
                if classification_hashes is not None
                else None,
            )
        )
    return results if isinstance(uid, list) else results[0]


# ---------------------------------------------------------------- labelrow POST (save)


@rpc("project", "labelrow", "POST")
def save_label_rows(ctx: RequestContext, uid: Any, payload: Any) -> bool:
    project = get_project_doc(ctx.store, ctx.resource_id)
    if isinstance(uid, list):
        labels_list = (payload or {}).get("labels")
        if not isinstance(labels_list, list) or len(labels_list) != len(uid):
            raise invalid_arguments("save needs one label dict per label hash in 'labels'")
        pairs = list(zip(uid, labels_list, strict=True))
    else:
        pairs = [(uid, payload)]
    with ctx.store.transaction():
        docs = [
            (get_label_or_404(ctx.store, ctx.resource_id, str(label_hash)), labels)
            for label_hash, labels in pairs
        ]
        for label, labels in docs:
            models.store_labels(ctx.store, project, label, labels)
    return True


# ---------------------------------------------------------------- workflow_complete / workflow_reopen


@rpc("project", "labelworkflowgraphnode", "POST")
def label_workflow_action(ctx: RequestContext, uid: Any, payload: Any) -> bool:
    project = get_project_doc(ctx.store, ctx.resource_id)
    graph = project["workflow"]
    action = str((payload or {}).get("action", ""))
    if action not in ("complete", "reopen"):
        raise invalid_arguments(f"unknown workflow action {action!r}; expected 'complete' or 'reopen'")
    target = (
        next(node for node in graph["nodes"] if node["type"] == "complete")
        if action == "complete"
        else start_node(graph)
    )
    with ctx.store.transaction():
        for label_hash in uid if isinstance(uid, list) else [uid]:
            label = get_label_or_404(ctx.store, ctx.resource_id, str(label_hash))
            task = workflow.get_task(ctx.store, project["project_hash"], label["data_hash"])
            if task is None:
                raise EmulatorError(
                    404, "RESOURCE_NOT_FOUND_ERROR", f"label row {label_hash} has no workflow task"
                )
            status = "REOPENED" if action == "reopen" else "NEW"
            workflow.move_task(ctx.store, project, task, target["uuid"], ctx.user_email, status=status)
    return True


@router.get("/projects/{project_hash}/branches")
def list_branches(project_hash: str, ctx: Ctx) -> dict[str, Any]:
    """``project.list_branches()``: ``main`` and every branch a label row was created on."""
    get_project_doc(ctx.store, project_hash)
    names = models.branch_names(ctx.store, project_hash)
    return {"results": [{"name": name} for name in sorted(names | {"main"})], "nextPageToken": None}
