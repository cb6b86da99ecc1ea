"""Datasets: v2 create and list (filtered), legacy get / data rows / link items (api-surface §6).

A data row links a storage item into a dataset; ``data_hash`` equals the item uuid (the SDK itself
assumes this). A dataset created with a backing folder mirrors it: items registered into that folder
become rows on the next read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request

from encord_emulator.common import aware_time, filter_listing, legacy_time, new_uuid, now_iso, sql_like
from encord_emulator.errors import EmulatorError, invalid_arguments, not_found
from encord_emulator.jobs import ITEM_KIND
from encord_emulator.manifest import ManifestError, parse_upload_body
from encord_emulator.registry import AppState, Ctx, RequestContext, register_seed_section, rpc
from encord_emulator.seed import SeedError, entries, require
from encord_emulator.storage import (
    FOLDER_KIND,
    INTEGRATION_KIND,
    JsonBody,
    create_folder,
    delete_items,
    get_folder_or_404,
    job_runner,
    on_items_left_folder,
    signed_url,
    update_item,
)

router = APIRouter()
DATASET_KIND = "dataset"
ROW_KIND = "data_row"

DATA_TYPE = {
    "image": "IMAGE", "video": "VIDEO", "imageGroup": "IMG_GROUP", "imageSequence": "IMG_GROUP",
    "dicomSeries": "DICOM", "audio": "AUDIO", "plainText": "PLAIN_TEXT", "pdf": "PDF", "nifti": "NIFTI",
}  # fmt: skip
LEGACY_STORAGE_LOCATION = {"encord": 0, "s3": 1, "gcp": 2, "azure": 3, "s3Compatible": 4, "openTelekom": 4}
DATASET_TYPE = {0: "CORD_STORAGE", 1: "AWS_S3", 2: "GCP_STR", 3: "AZURE_STR", 4: "S3_COMPATIBLE_STR"}
DUPLICATES_BEHAVIOURS = ("SKIP", "DUPLICATE", "FAIL")


def row_id(dataset_hash: str, data_hash: str) -> str:
    return f"{dataset_hash}:{data_hash}"


def create_dataset(store: Any, title: str, owner: str, description: str | None = None, backing_folder: bool = False,
                   dataset_hash: str | None = None, backing_folder_uuid: str | None = None) -> dict[str, Any]:  # fmt: skip
    dataset_hash = dataset_hash or new_uuid()
    if backing_folder and backing_folder_uuid is None:
        backing_folder_uuid = create_folder(
            store, title, owner, description, synced_dataset_hash=dataset_hash
        )["uuid"]
    elif backing_folder_uuid is not None:
        folder = store.get(FOLDER_KIND, backing_folder_uuid)
        if folder is None:
            raise not_found(f"storage folder {backing_folder_uuid}")
        folder["synced_dataset_hash"] = dataset_hash
        store.put(FOLDER_KIND, backing_folder_uuid, folder)
    dataset = {
        "dataset_hash": dataset_hash, "title": title, "description": description or "", "owner": owner,
        "backing_folder_uuid": backing_folder_uuid, "created_at": now_iso(), "last_edited_at": now_iso(),
    }  # fmt: skip
    store.put(DATASET_KIND, dataset_hash, dataset)
    return dataset


def get_dataset_or_404(store: Any, dataset_hash: str) -> dict[str, Any]:
    dataset = store.get(DATASET_KIND, dataset_hash or "")
    if dataset is None:
        raise not_found(f"dataset {dataset_hash}")
    return dataset


def rows_of_dataset(store: Any, dataset_hash: str) -> list[dict[str, Any]]:
    """The dataset's rows (``data_row`` docs), first mirroring any new items of its backing folder."""
    dataset = get_dataset_or_404(store, dataset_hash)
    rows = store.query(ROW_KIND, dataset_hash=dataset_hash)
    folder_uuid = dataset.get("backing_folder_uuid")
    if folder_uuid:
        linked = {row["item_uuid"] for row in rows}
        new_items = [
            item for item in store.query(ITEM_KIND, parent=folder_uuid) if item["uuid"] not in linked
        ]
        if new_items:
            added = _link(store, dataset_hash, new_items)
            rows.extend(added)
    return rows


def _link(store: Any, dataset_hash: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = {}
    for item in items:
        data_hash = item["uuid"]
        rows[row_id(dataset_hash, data_hash)] = {
            "dataset_hash": dataset_hash, "data_hash": data_hash, "item_uuid": item["uuid"], "created_at": now_iso(),
        }  # fmt: skip
    store.put_many(ROW_KIND, rows)
    return list(rows.values())


def link_items(store: Any, dataset_hash: str, item_uuids: list[str], behaviour: str) -> list[dict[str, Any]]:
    """Link storage items; returns the new rows. SKIP ignores items already linked, FAIL rejects them."""
    if behaviour not in DUPLICATES_BEHAVIOURS:
        raise invalid_arguments(f"duplicates_behavior must be one of {DUPLICATES_BEHAVIOURS}")
    get_dataset_or_404(store, dataset_hash)
    items = store.get_many(ITEM_KIND, item_uuids)
    missing = [uuid for uuid in item_uuids if uuid not in items]
    if missing:
        raise not_found(f"storage items not found: {missing[:10]}")
    with store.transaction():
        already = set(store.get_many(ROW_KIND, [row_id(dataset_hash, uuid) for uuid in item_uuids]))
        duplicates = [uuid for uuid in item_uuids if row_id(dataset_hash, uuid) in already]
        if duplicates and behaviour == "FAIL":
            raise EmulatorError(409, "RESOURCE_EXISTS_ERROR", f"items already in dataset: {duplicates[:10]}")
        if behaviour == "DUPLICATE":
            # A duplicate row needs its own data hash; it still backs onto the same item.
            return _link_duplicates(store, dataset_hash, [items[uuid] for uuid in item_uuids], already)
        fresh = list(dict.fromkeys(uuid for uuid in item_uuids if row_id(dataset_hash, uuid) not in already))
        return _link(store, dataset_hash, [items[uuid] for uuid in fresh])


def _link_duplicates(
    store: Any, dataset_hash: str, items: list[dict[str, Any]], already: set[str]
) -> list[dict[str, Any]]:
    rows = {}
    for item in items:
        key = row_id(dataset_hash, item["uuid"])
        data_hash = item["uuid"] if key not in already and key not in rows else new_uuid()
        rows[row_id(dataset_hash, data_hash)] = {
            "dataset_hash": dataset_hash, "data_hash": data_hash, "item_uuid": item["uuid"], "created_at": now_iso(),
        }  # fmt: skip
    store.put_many(ROW_KIND, rows)
    return list(rows.values())


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
        dto["signed_url"] = signed_url(state, item)
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
    dataset = create_dataset(ctx.store, title, ctx.user_email, payload.get("description"),
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
    rows = rows_of_dataset(ctx.store, ctx.resource_id) if settings.get("fetch_rows", True) else None
    return dataset_dto(ctx.app, dataset, rows, bool(settings.get("fetch_client_metadata", False)))


@rpc("dataset", "datarows", "GET")
def rpc_data_rows(ctx: RequestContext, uid: Any, payload: Any) -> list[dict[str, Any]]:
    payload = payload or {}
    rows = rows_of_dataset(ctx.store, ctx.resource_id)
    items = ctx.store.get_many(ITEM_KIND, [row["item_uuid"] for row in rows])
    if payload.get("data_hashes"):
        wanted = set(payload["data_hashes"])
        rows = [row for row in rows if row["data_hash"] in wanted]
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
    rows = link_items(ctx.store, ctx.resource_id, item_uuids, str(payload.get("duplicates_behavior", "SKIP")))
    items = ctx.store.get_many(ITEM_KIND, [row["item_uuid"] for row in rows])
    return [data_row_dto(ctx.app, row, items[row["item_uuid"]]) for row in rows]


# ---------------------------------------------------------------- removing data rows, updating them

RowsHook = Callable[[Any, str, list[str]], None]
_ROWS_REMOVED_HOOKS: list[RowsHook] = []


def on_rows_removed(hook: RowsHook) -> RowsHook:
    """Register ``hook(store, dataset_hash, data_hashes)``, called after data rows leave a dataset
    (the labels module drops the tasks and label rows of that data in the dataset's projects)."""
    _ROWS_REMOVED_HOOKS.append(hook)
    return hook


def remove_rows(store: Any, dataset_hash: str, data_hashes: list[str]) -> list[str]:
    """Delete the dataset's rows with these data hashes (unknown ones are an error); returns them."""
    get_dataset_or_404(store, dataset_hash)
    ids = [row_id(dataset_hash, data_hash) for data_hash in dict.fromkeys(data_hashes)]
    with store.transaction():
        found = store.get_many(ROW_KIND, ids)
        missing = [i.split(":", 1)[1] for i in ids if i not in found]
        if missing:
            raise not_found(f"data {missing[:10]} not in dataset {dataset_hash}")
        for key in ids:
            store.delete(ROW_KIND, key)
        removed = [found[key]["data_hash"] for key in ids]
        for hook in _ROWS_REMOVED_HOOKS:
            hook(store, dataset_hash, removed)
    return removed


@on_items_left_folder
def _unlink_items_that_left(
    store: Any, items: list[dict[str, Any]], folder: dict[str, Any], deleted: bool
) -> None:
    """Deleted items leave every dataset; items moved out of a mirrored folder leave its dataset only."""
    rows = [row for item in items for row in store.query(ROW_KIND, item_uuid=item["uuid"])]
    if not deleted:
        rows = [row for row in rows if row["dataset_hash"] == folder.get("synced_dataset_hash")]
    by_dataset: dict[str, list[str]] = {}
    for row in rows:
        by_dataset.setdefault(row["dataset_hash"], []).append(row["data_hash"])
    for dataset_hash, data_hashes in by_dataset.items():
        remove_rows(store, dataset_hash, data_hashes)


def _row_of(store: Any, dataset_hash: str, data_hash: str) -> dict[str, Any]:
    rows = {row["data_hash"]: row for row in rows_of_dataset(store, dataset_hash)}
    if data_hash not in rows:
        raise not_found(f"data {data_hash} not in dataset {dataset_hash}")
    return rows[data_hash]


@rpc("dataset", "video", "DELETE")
def rpc_delete_data(ctx: RequestContext, uid: Any, payload: Any) -> bool:
    """``dataset.delete_data(data_hashes)``: the rows leave the dataset. In a mirror dataset the rows *are*
    the backing folder's items, so those items are deleted too (else the mirror would bring them back)."""
    data_hashes = [str(h) for h in (uid if isinstance(uid, list) else [uid] if uid else [])]
    dataset = get_dataset_or_404(ctx.store, ctx.resource_id)
    folder_uuid = dataset.get("backing_folder_uuid")
    with ctx.store.transaction():
        rows = [_row_of(ctx.store, ctx.resource_id, data_hash) for data_hash in data_hashes]
        items = ctx.store.get_many(ITEM_KIND, [row["item_uuid"] for row in rows])
        mirrored = [uuid for uuid, item in items.items() if folder_uuid and item["parent"] == folder_uuid]
        if mirrored:
            delete_items(ctx.store, str(folder_uuid), mirrored)
        rest = [row["data_hash"] for row in rows if row["item_uuid"] not in set(mirrored)]
        if rest:
            remove_rows(ctx.store, ctx.resource_id, rest)
    return True


@rpc("dataset", "video", "POST")
def rpc_update_data_item(ctx: RequestContext, uid: Any, payload: Any) -> dict[str, bool]:
    """``dataset.update_data_item(data_hash, new_title)``: renames the backing storage item."""
    for change in payload if isinstance(payload, list) else []:
        row = _row_of(ctx.store, ctx.resource_id, str(change.get("video_hash")))
        update_item(ctx.store, row["item_uuid"], {"name": change.get("title")})
    return {"success": True}


DATA_ROW_FIELDS = {"data_title": "name", "client_metadata": "clientMetadata"}


@rpc("dataset", "datarow", "POST")
def rpc_save_data_row(ctx: RequestContext, uid: Any, payload: Any) -> dict[str, Any]:
    """``DataRow.save()``: title and client metadata live on the backing storage item."""
    changes = payload if isinstance(payload, dict) else {}
    unknown = sorted(set(changes) - set(DATA_ROW_FIELDS))
    if unknown:
        raise invalid_arguments(f"data row {uid}: fields {unknown} cannot be updated")
    row = _row_of(ctx.store, ctx.resource_id, str(uid))
    patch = {DATA_ROW_FIELDS[field]: value for field, value in changes.items()}
    if "clientMetadata" in patch and not isinstance(patch["clientMetadata"], dict):
        raise invalid_arguments(f"data row {uid}: client_metadata must be an object")
    item = update_item(ctx.store, row["item_uuid"], patch)
    return {"updated_fields": list(changes), "data_row": data_row_dto(ctx.app, row, item, True)}


@rpc("dataset", "datarow", "GET")
def rpc_get_data_row(ctx: RequestContext, uid: Any, payload: Any) -> dict[str, Any]:
    """``DataRow.refetch_data(signed_url=, images_data_fetch_options=, client_metadata=)``."""
    extra = (payload or {}).get("additional_data") or {}
    row = _row_of(ctx.store, ctx.resource_id, str(uid))
    dto = data_row_dto(ctx.app, row, None, bool(extra.get("client_metadata")), bool(extra.get("signed_url")))
    if not extra.get("images_data_fetch_options"):
        dto.pop("images_data", None)
    return dto


# ---------------------------------------------------------------- dataset.add_private_data_to_dataset

UPLOAD_KIND = "dataset_upload"
LONG_POLL_CAP_SECONDS = 25.0


def start_dataset_upload(state: AppState, dataset_hash: str, params: dict[str, Any], owner: str) -> str:
    """Register the files as an upload job into the dataset's folder (the backing folder of a mirror
    dataset, else ``folderUuid``); the items are linked into the dataset when the job is polled done."""
    dataset = get_dataset_or_404(state.store, dataset_hash)
    folder_uuid = str(params.get("folderUuid") or dataset.get("backing_folder_uuid") or "")
    if not folder_uuid:
        raise invalid_arguments(f"dataset {dataset_hash} has no backing folder: pass folder= to name one")
    get_folder_or_404(state.store, folder_uuid)
    integration = state.store.get(INTEGRATION_KIND, str(params.get("integrationId") or ""))
    if integration is None:
        raise invalid_arguments(f"unknown cloud integration {params.get('integrationId')}")
    body = (
        {"dataItems": params["dataItems"]}
        if params.get("dataItems")
        else {"externalFiles": params.get("files")}
    )
    try:
        units, flags = parse_upload_body(body)
    except ManifestError as exc:
        raise invalid_arguments(f"{params.get('fileName') or 'upload JSON'}: {exc}") from exc
    if not units:
        raise invalid_arguments("the upload JSON lists no files")
    job_uuid = job_runner(state).start(folder_uuid, integration, units, flags, bool(params.get("ignoreErrors")),
                                       params.get("fileName"), owner)  # fmt: skip
    state.store.put(
        UPLOAD_KIND, job_uuid, {"uuid": job_uuid, "dataset_hash": dataset_hash, "folder": folder_uuid}
    )
    return job_uuid


def poll_dataset_upload(
    state: AppState, dataset_hash: str, process_hash: str, timeout: float
) -> dict[str, Any]:
    """``DatasetDataLongPolling`` of the job; once it finished, its items are (idempotently) linked."""
    upload = state.store.get(UPLOAD_KIND, process_hash)
    if upload is None or upload["dataset_hash"] != dataset_hash:
        raise not_found(f"upload job {process_hash} of dataset {dataset_hash}")
    job = job_runner(state).wait(upload["folder"], process_hash, timeout)
    linked: list[dict[str, Any]] = []
    if job["status"] != "PENDING":
        uuids = [i["itemUuid"] for i in [*job["itemsWithNames"], *job.get("itemsSkippedAsDuplicates", [])]]
        link_items(state.store, dataset_hash, uuids, "SKIP")
        wanted = set(uuids)
        linked = [row for row in rows_of_dataset(state.store, dataset_hash) if row["item_uuid"] in wanted]
    items = state.store.get_many(ITEM_KIND, [row["item_uuid"] for row in linked])
    return {
        "status": job["status"],
        "dataHashesWithTitles": [
            {
                "dataHash": row["data_hash"],
                "title": items[row["item_uuid"]]["name"],
                "backingItemUuid": row["item_uuid"],
            }
            for row in linked
        ],
        "errors": job["errors"],
        "dataUnitErrors": job["unitErrors"],
        **{
            key: job[key]
            for key in ("unitsPendingCount", "unitsDoneCount", "unitsErrorCount", "unitsCancelledCount")
        },
    }


@rpc("dataset", "datasetdatalongpolling", "POST")
def rpc_start_dataset_upload(ctx: RequestContext, uid: Any, payload: Any) -> dict[str, str]:
    return {"process_hash": start_dataset_upload(ctx.app, ctx.resource_id, payload or {}, ctx.user_email)}


@rpc("dataset", "datasetdatalongpolling", "GET")
def rpc_poll_dataset_upload(ctx: RequestContext, uid: Any, payload: Any) -> dict[str, Any]:
    payload = payload or {}
    cap = float(ctx.app.setting("long_poll_cap_seconds", LONG_POLL_CAP_SECONDS))
    timeout = max(0.0, min(float(payload.get("timeout_seconds") or 0), cap))
    return poll_dataset_upload(ctx.app, ctx.resource_id, str(payload.get("process_hash")), timeout)


# ---------------------------------------------------------------- seed


def _seed_datasets(state: AppState, value: Any) -> None:
    users = state.store.query("user")
    owner = str(users[0]["email"]) if users else "emulator@localhost"
    for index, entry in enumerate(entries("datasets", value)):
        title = str(require("datasets", index, entry, "title"))
        dataset_hash = entry.get("uuid") or entry.get("dataset_hash")
        if dataset_hash and state.store.get(DATASET_KIND, dataset_hash) is not None:
            continue
        if not dataset_hash and state.store.query(DATASET_KIND, title=title):
            continue
        backing = entry.get("backing_folder")
        backing_uuid = None
        if isinstance(backing, str):
            matches = [f for f in state.store.query(FOLDER_KIND) if backing in (f["uuid"], f["name"])]
            if not matches:
                raise SeedError(
                    f"dataset {title!r}: backing_folder {backing!r} is not a known folder uuid or name"
                )
            backing_uuid = matches[0]["uuid"]
        create_dataset(
            state.store, title, owner, entry.get("description"), backing is True, dataset_hash, backing_uuid
        )


register_seed_section("datasets", _seed_datasets)
