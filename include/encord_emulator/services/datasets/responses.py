"""Datasets: v2 create and list (filtered), legacy get / data rows / link items (api-surface §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request

from encord_emulator.core.common import aware_time, filter_listing, legacy_time, sql_like
from encord_emulator.core.errors import invalid_arguments
from encord_emulator.core.registry import AppState, Ctx, RequestContext, rpc
from encord_emulator.services.datasets import models
from encord_emulator.services.datasets.models import (
    DATA_TYPE,
    DATASET_KIND,
    DATASET_TYPE,
    LEGACY_STORAGE_LOCATION,
    get_dataset_or_404,
)
from encord_emulator.services.storage import models as storage
from encord_emulator.services.storage.models import ITEM_KIND
from encord_emulator.services.storage.responses import JsonBody

LONG_POLL_CAP_SECONDS = 25.0
router = APIRouter()


def data_row_dto(state: AppState, row: dict[str, Any], item: dict[str, Any] | None = None,
                 include_client_metadata: bool = True, sign: bool = False) -> dict[str, Any]:  # fmt: skip
    """The legacy ``DataRow`` dict for a ``data_row`` doc."""
    item = item or state.store.get(ITEM_KIND, row["item_uuid"])
    assert item is not None, f"data row {row['data_hash']} points at a deleted item"
    location = LEGACY_STORAGE_LOCATION.get(item["storage_location"], 0)
    dto: dict[str, Any] = {
        "data_hash": row["data_hash"], "data_title": item["name"], "data_type": DATA_TYPE[item["item_type"]],
        "created_at": legacy_time(row["created_at"]), "last_edited_at": legacy_time(item["last_edited_at"]),
        "width": item.get("width"), "height": item.get("height"), "file_link": item.get("url"),
        "file_size": item.get("file_size"), "file_type": item.get("mime_type"), "storage_location": location,
        "frames_per_second": item.get("fps"), "duration": item.get("duration"),
        "backing_item_uuid": item["uuid"], "is_optimised_image_group": item["item_type"] == "imageSequence",
    }  # fmt: skip
    if include_client_metadata:
        dto["client_metadata"] = item.get("client_metadata") or {}
    if sign:
        dto["signed_url"] = storage.signed_url(state, item)
    if item.get("children") and item["item_type"] in ("imageGroup", "imageSequence"):
        dto["images_data"] = [
            {"title": child.get("title") or child["key"].rsplit("/", 1)[-1], "file_link": child["url"],
             "file_type": child.get("mime_type"), "file_size": child.get("file_size"),
             "image_hash": f"{row['data_hash']}-{index}", "storage_location": location,
             "created_at": dto["created_at"], "last_edited_at": dto["last_edited_at"],
             "height": child.get("height"), "width": child.get("width")}
            for index, child in enumerate(item["children"])
        ]  # fmt: skip
    return dto


def dataset_dto(state: AppState, dataset: dict[str, Any], rows: list[dict[str, Any]] | None,
                include_client_metadata: bool) -> dict[str, Any]:  # fmt: skip
    items = state.store.get_many(ITEM_KIND, [row["item_uuid"] for row in rows or []])
    row_dtos = [
        data_row_dto(state, row, items.get(row["item_uuid"]), include_client_metadata) for row in rows or []
    ]
    locations = {row["storage_location"] for row in row_dtos}
    dto: dict[str, Any] = {
        "dataset_hash": dataset["dataset_hash"], "title": dataset["title"], "description": dataset["description"],
        "dataset_type": DATASET_TYPE[locations.pop()] if len(locations) == 1 else "CORD_STORAGE",
        "backing_folder_uuid": dataset.get("backing_folder_uuid"),
    }  # fmt: skip
    if rows is not None:
        dto["data_rows"] = row_dtos
    return dto


# ---------------------------------------------------------------- v2


@router.post("/datasets")
def post_dataset(payload: JsonBody, ctx: Ctx) -> dict[str, Any]:
    title = payload.get("title")
    if not isinstance(title, str) or not title.strip():
        raise invalid_arguments("dataset title is required")
    dataset = models.create_dataset(ctx.store, title, ctx.user_email, payload.get("description"),
                             bool(payload.get("createBackingFolder", True)))  # fmt: skip
    return {"datasetUuid": dataset["dataset_hash"], "backingFolderUuid": dataset["backing_folder_uuid"]}


# The emulator has no sharing model: every key sees every dataset, as the admin (like folders).
DATASET_TEXT_FILTERS = (
    ("titleEq", "titleLike", "title"),
    ("descriptionEq", "descriptionLike", "description"),
)


@router.get("/datasets/list")
def list_datasets(request: Request, ctx: Ctx) -> dict[str, Any]:
    """``user_client.get_datasets(...)``: ``DatasetsWithUserRolesListParams`` in, ``{"result": [...]}`` out."""
    datasets = filter_listing(ctx.store.query(DATASET_KIND), request.query_params, DATASET_TEXT_FILTERS)
    return {"result": [_listed_dataset_dto(d) for d in datasets]}


def _listed_dataset_dto(dataset: dict[str, Any]) -> dict[str, Any]:
    return {
        "datasetUuid": dataset["dataset_hash"], "title": dataset["title"],
        "description": dataset.get("description") or "", "createdAt": dataset["created_at"],
        "lastEditedAt": dataset.get("last_edited_at") or dataset["created_at"], "userRole": "admin",
        "storageLocation": None, "backingFolderUuid": dataset.get("backing_folder_uuid"),
    }  # fmt: skip


# ---------------------------------------------------------------- legacy RPC


def _access_settings(payload: Any) -> dict[str, Any]:
    settings = (payload or {}).get("dataset_access_settings") or {}
    return settings if isinstance(settings, dict) else {}


@rpc("dataset", "dataset", "GET")
def rpc_get_dataset(ctx: RequestContext, uid: Any, payload: Any) -> dict[str, Any]:
    dataset = get_dataset_or_404(ctx.store, ctx.resource_id)
    settings = _access_settings(payload)
    rows = models.rows_of_dataset(ctx.store, ctx.resource_id) if settings.get("fetch_rows", True) else None
    return dataset_dto(ctx.app, dataset, rows, bool(settings.get("fetch_client_metadata", False)))


@rpc("dataset", "datarows", "GET")
def rpc_data_rows(ctx: RequestContext, uid: Any, payload: Any) -> list[dict[str, Any]]:
    payload = payload or {}
    if payload.get("data_hashes"):  # by id: O(wanted), not a scan of the dataset
        get_dataset_or_404(ctx.store, ctx.resource_id)
        wanted = models.rows_by_data_hash(
            ctx.store, ctx.resource_id, [str(h) for h in payload["data_hashes"]]
        )
        rows = list(wanted.values())
    else:
        rows = models.rows_of_dataset(ctx.store, ctx.resource_id)
    items = ctx.store.get_many(ITEM_KIND, [row["item_uuid"] for row in rows])
    settings = _access_settings(payload)
    dtos = [
        data_row_dto(ctx.app, row, items[row["item_uuid"]], bool(settings.get("fetch_client_metadata")))
        for row in rows
    ]
    return [dto for dto in dtos if _row_matches(dto, payload)]


def _row_matches(dto: dict[str, Any], payload: dict[str, Any]) -> bool:
    if payload.get("title_eq") is not None and dto["data_title"] != payload["title_eq"]:
        return False
    if payload.get("title_like") is not None and not sql_like(payload["title_like"], dto["data_title"]):
        return False
    if payload.get("data_types") and dto["data_type"] not in {str(t).upper() for t in payload["data_types"]}:
        return False
    created = datetime.fromisoformat(dto["created_at"].replace(" ", "T") + "+00:00")
    if payload.get("created_before") and created >= aware_time(payload["created_before"]):
        return False
    return not (payload.get("created_after") and created <= aware_time(payload["created_after"]))


@rpc("dataset", "datasetlinkitems", "POST")
def rpc_link_items(ctx: RequestContext, uid: Any, payload: Any) -> list[dict[str, Any]]:
    payload = payload or {}
    item_uuids = [str(uuid) for uuid in payload.get("item_uuids") or []]
    rows = models.link_items(
        ctx.store, ctx.resource_id, item_uuids, str(payload.get("duplicates_behavior", "SKIP"))
    )
    items = ctx.store.get_many(ITEM_KIND, [row["item_uuid"] for row in rows])
    return [data_row_dto(ctx.app, row, items[row["item_uuid"]]) for row in rows]


# ---------------------------------------------------------------- removing data rows, updating them


@rpc("dataset", "video", "DELETE")
def rpc_delete_data(ctx: RequestContext, uid: Any, payload: Any) -> bool:
    """``dataset.delete_data(data_hashes)``: the rows leave the dataset. In a mirror dataset the rows *are*
    the backing folder's items, so those items are deleted too (else the mirror would bring them back)."""
    data_hashes = [str(h) for h in (uid if isinstance(uid, list) else [uid] if uid else [])]
    models.delete_data(ctx.store, ctx.resource_id, data_hashes)
    return True


@rpc("dataset", "video", "POST")
def rpc_update_data_item(ctx: RequestContext, uid: Any, payload: Any) -> dict[str, bool]:
    """``dataset.update_data_item(data_hash, new_title)``: renames the backing storage item."""
    for change in payload if isinstance(payload, list) else []:
        row = models.get_row_or_404(ctx.store, ctx.resource_id, str(change.get("video_hash")))
        storage.update_item(ctx.store, row["item_uuid"], {"name": change.get("title")})
    return {"success": True}


DATA_ROW_FIELDS = {"data_title": "name", "client_metadata": "clientMetadata"}


@rpc("dataset", "datarow", "POST")
def rpc_save_data_row(ctx: RequestContext, uid: Any, payload: Any) -> dict[str, Any]:
    """``DataRow.save()``: title and client metadata live on the backing storage item."""
    changes = payload if isinstance(payload, dict) else {}
    unknown = sorted(set(changes) - set(DATA_ROW_FIELDS))
    if unknown:
        raise invalid_arguments(f"data row {uid}: fields {unknown} cannot be updated")
    row = models.get_row_or_404(ctx.store, ctx.resource_id, str(uid))
    patch = {DATA_ROW_FIELDS[field]: value for field, value in changes.items()}
    if "clientMetadata" in patch and not isinstance(patch["clientMetadata"], dict):
        raise invalid_arguments(f"data row {uid}: client_metadata must be an object")
    item = storage.update_item(ctx.store, row["item_uuid"], patch)
    return {"updated_fields": list(changes), "data_row": data_row_dto(ctx.app, row, item, True)}


@rpc("dataset", "datarow", "GET")
def rpc_get_data_row(ctx: RequestContext, uid: Any, payload: Any) -> dict[str, Any]:
    """``DataRow.refetch_data(signed_url=, images_data_fetch_options=, client_metadata=)``."""
    extra = (payload or {}).get("additional_data") or {}
    row = models.get_row_or_404(ctx.store, ctx.resource_id, str(uid))
    dto = data_row_dto(ctx.app, row, None, bool(extra.get("client_metadata")), bool(extra.get("signed_url")))
    if not extra.get("images_data_fetch_options"):
        dto.pop("images_data", None)
    return dto


# ---------------------------------------------------------------- dataset.add_private_data_to_dataset


@rpc("dataset", "datasetdatalongpolling", "POST")
def rpc_start_dataset_upload(ctx: RequestContext, uid: Any, payload: Any) -> dict[str, str]:
    return {
        "process_hash": models.start_dataset_upload(ctx.app, ctx.resource_id, payload or {}, ctx.user_email)
    }


@rpc("dataset", "datasetdatalongpolling", "GET")
def rpc_poll_dataset_upload(ctx: RequestContext, uid: Any, payload: Any) -> dict[str, Any]:
    payload = payload or {}
    cap = float(ctx.app.setting("long_poll_cap_seconds", LONG_POLL_CAP_SECONDS))
    timeout = max(0.0, min(float(payload.get("timeout_seconds") or 0), cap))
    return models.poll_dataset_upload(ctx.app, ctx.resource_id, str(payload.get("process_hash")), timeout)
