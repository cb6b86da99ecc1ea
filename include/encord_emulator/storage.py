"""Index storage: cloud integrations, folders, items and upload jobs (v2 routes, api-surface §5)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from encord_emulator.cloud import PROVIDERS, CloudReader, ObjectLocation
from encord_emulator.common import check_page_size, keyset_page, new_uuid, now_iso, parse_bool
from encord_emulator.errors import invalid_arguments, not_found
from encord_emulator.jobs import ITEM_KIND, JobRunner
from encord_emulator.manifest import ManifestError, parse_upload_body
from encord_emulator.registry import (
    AppState,
    Ctx,
    RequestContext,
    on_startup,
    register_seed_section,
)
from encord_emulator.seed import SeedError, entries, require

router = APIRouter()
INTEGRATION_KIND = "integration"
FOLDER_KIND = "folder"
LONG_POLL_CAP_SECONDS = 25.0
JsonBody = Annotated[dict[str, Any], Body()]
SECRET_FIELDS = ("secret_access_key", "account_key", "connection_string")


def job_runner(state: AppState) -> JobRunner:
    runner = state.services.get("jobs")
    if runner is None:
        runner = state.services["jobs"] = JobRunner(state)
    assert isinstance(runner, JobRunner)
    return runner


@on_startup
def _resume_pending_jobs(state: AppState) -> None:
    runner = job_runner(state)
    for job in state.store.query("upload_job", status="PENDING"):
        runner.launch(job["uuid"])


# ---------------------------------------------------------------- rendering


def folder_dto(store: Any, folder: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": folder["uuid"],
        "parent": folder.get("parent"),
        "name": folder["name"],
        "description": folder.get("description") or "",
        "clientMetadata": json.dumps(folder.get("client_metadata") or {}),
        "owner": folder["owner"],
        "createdAt": folder["created_at"],
        "lastEditedAt": folder["last_edited_at"],
        "userRole": "admin",
        "syncedDatasetHash": folder.get("synced_dataset_hash"),
        "pathToRoot": _path_to_root(store, folder),
        "folderType": "generic",
        "integrationHash": None,
        "remoteUrl": None,
    }


def _path_to_root(store: Any, folder: dict[str, Any]) -> list[dict[str, Any]]:
    path: list[dict[str, Any]] = []
    current: dict[str, Any] | None = folder
    while current is not None and len(path) < 100:
        path.append({"uuid": current["uuid"], "parentUuid": current.get("parent"), "name": current["name"],
                     "syncedDatasetHash": current.get("synced_dataset_hash")})  # fmt: skip
        current = store.get(FOLDER_KIND, current["parent"]) if current.get("parent") else None
    return path


def item_dto(
    item: dict[str, Any], signed_url: str | None = None, include_client_metadata: bool = True
) -> dict[str, Any]:
    """The v2 ``StorageItem`` JSON (every required key present)."""
    return {
        "uuid": item["uuid"],
        "parent": item["parent"],
        "itemType": item["item_type"],
        "name": item["name"],
        "description": item.get("description") or "",
        "clientMetadata": json.dumps(item.get("client_metadata") or {}) if include_client_metadata else "{}",
        "owner": item["owner"],
        "createdAt": item["created_at"],
        "lastEditedAt": item["last_edited_at"],
        "isTombstone": False,
        "isPlaceholder": False,
        "backedDataUnitsCount": item.get("backed_data_units_count", 1),
        "storageLocation": item["storage_location"],
        "integrationHash": item.get("integration_hash"),
        "url": item.get("url"),
        "signedUrl": signed_url,
        "fileSize": item.get("file_size"),
        "mimeType": item.get("mime_type"),
        "duration": item.get("duration"),
        "fps": item.get("fps"),
        "height": item.get("height"),
        "width": item.get("width"),
        "dicomInstanceUid": item.get("dicom_instance_uid"),
        "dicomStudyUid": item.get("dicom_study_uid"),
        "dicomSeriesUid": item.get("dicom_series_uid"),
        "frameCount": item.get("frame_count"),
        "audioSampleRate": item.get("audio_sample_rate"),
        "audioBitDepth": item.get("audio_bit_depth"),
        "audioCodec": item.get("audio_codec"),
        "audioNumChannels": item.get("audio_num_channels"),
    }


def signed_url(state: AppState, item: dict[str, Any], child_index: int = 0) -> str | None:
    """A downloadable URL of the item's (first / ``child_index``-th) object on the local stand-in."""
    integration = state.store.get(INTEGRATION_KIND, item.get("integration_hash") or "")
    children = item.get("children")
    if integration is None:
        return None
    if children:
        child = children[child_index]
        loc = ObjectLocation(child["bucket"], child["key"])
    else:
        from encord_emulator.cloud import parse_object_url

        loc = parse_object_url(item["url"], integration)
    reader = state.services.setdefault("signer", CloudReader())
    return str(reader.signed_url(integration, loc))


def get_item_or_404(store: Any, item_uuid: str) -> dict[str, Any]:
    item = store.get(ITEM_KIND, item_uuid)
    if item is None:
        raise not_found(f"storage item {item_uuid}")
    return item


def get_folder_or_404(store: Any, folder_uuid: str) -> dict[str, Any]:
    folder = store.get(FOLDER_KIND, folder_uuid)
    if folder is None:
        raise not_found(f"storage folder {folder_uuid}")
    return folder


def create_folder(store: Any, name: str, owner: str, description: str | None = None, parent: str | None = None,
                  client_metadata: dict[str, Any] | None = None, uuid: str | None = None,
                  synced_dataset_hash: str | None = None) -> dict[str, Any]:  # fmt: skip
    if parent is not None:
        get_folder_or_404(store, parent)
    now = now_iso()
    folder = {
        "uuid": uuid or new_uuid(), "name": name, "description": description or "", "parent": parent,
        "client_metadata": client_metadata or {}, "owner": owner, "created_at": now, "last_edited_at": now,
        "synced_dataset_hash": synced_dataset_hash,
    }  # fmt: skip
    store.put(FOLDER_KIND, folder["uuid"], folder)
    return folder


# ---------------------------------------------------------------- integrations


@router.get("/cloud-integrations")
def get_cloud_integrations(ctx: Ctx, request: Request) -> dict[str, Any]:
    filter_integration_uuids = request.query_params.getlist("filterIntegrationUuids")
    filter_integration_titles = request.query_params.getlist("filterIntegrationTitles")
    integrations = ctx.store.query(INTEGRATION_KIND)
    if filter_integration_uuids:
        integrations = [i for i in integrations if i["uuid"] in filter_integration_uuids]
    if filter_integration_titles:
        integrations = [i for i in integrations if i["title"] in filter_integration_titles]
    return {"result": [{"integrationUuid": i["uuid"], "title": i["title"]} for i in integrations]}


# ---------------------------------------------------------------- folders


@router.post("/storage/folders")
def post_folder(payload: JsonBody, ctx: Ctx) -> dict[str, Any]:
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        raise invalid_arguments("folder name is required")
    if payload.get("cloudSyncedFolderParams"):
        raise invalid_arguments("cloud-synced folders are not supported by the emulator")
    metadata = _json_object(payload.get("clientMetadata"), "clientMetadata")
    folder = create_folder(
        ctx.store, name, ctx.user_email, payload.get("description"), payload.get("parent"), metadata
    )
    return folder_dto(ctx.store, folder)


@router.get("/storage/folders/{folder_uuid}")
def get_folder(folder_uuid: str, ctx: Ctx) -> dict[str, Any]:
    return folder_dto(ctx.store, get_folder_or_404(ctx.store, folder_uuid))


@router.delete("/storage/folders/{folder_uuid}")
def delete_folder(folder_uuid: str, ctx: Ctx) -> None:
    get_folder_or_404(ctx.store, folder_uuid)
    if ctx.store.count(ITEM_KIND, parent=folder_uuid) or ctx.store.count(FOLDER_KIND, parent=folder_uuid):
        raise invalid_arguments(f"folder {folder_uuid} is not empty")
    ctx.store.delete(FOLDER_KIND, folder_uuid)


@router.get("/storage/folders")
def list_folders(request: Request, ctx: Ctx) -> dict[str, Any]:
    return _folder_page(ctx, request, ctx.store.query(FOLDER_KIND, parent=None))


@router.get("/storage/search/folders")
def search_folders(request: Request, ctx: Ctx) -> dict[str, Any]:
    return _folder_page(ctx, request, ctx.store.query(FOLDER_KIND))


@router.get("/storage/folders/{folder_uuid}/folders")
def list_subfolders(folder_uuid: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    get_folder_or_404(ctx.store, folder_uuid)
    params = request.query_params
    if parse_bool(params.get("isRecursive")):
        folders = _descendants(ctx.store, folder_uuid)
    else:
        folders = ctx.store.query(FOLDER_KIND, parent=folder_uuid)
    return _folder_page(ctx, request, folders)


def _folder_page(ctx: RequestContext, request: Request, folders: list[dict[str, Any]]) -> dict[str, Any]:
    params = request.query_params
    search = (params.get("search") or "").lower()
    if search:
        folders = [f for f in folders if search in f["name"].lower()]
    synced = params.get("datasetSynced")
    if synced is not None:
        folders = [f for f in folders if bool(f.get("synced_dataset_hash")) == parse_bool(synced)]
    sort_key = "created_at" if params.get("order") == "createdAt" else "name"
    page = keyset_page(folders, sort_key, check_page_size(int(params.get("pageSize", 100))), params.get("pageToken"),
                       parse_bool(params.get("desc")))  # fmt: skip
    page["results"] = [folder_dto(ctx.store, f) for f in page["results"]]
    return page


# ---------------------------------------------------------------- items


@router.get("/storage/folders/{folder_uuid}/items")
def list_items(folder_uuid: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    get_folder_or_404(ctx.store, folder_uuid)
    folders = [folder_uuid]
    if parse_bool(request.query_params.get("isRecursive")):  # folder.find_items
        folders += [f["uuid"] for f in _descendants(ctx.store, folder_uuid)]
    items = [item for uuid in folders for item in ctx.store.query(ITEM_KIND, parent=uuid)]
    return _item_page(ctx, request, items)


def _descendants(store: Any, folder_uuid: str) -> list[dict[str, Any]]:
    return [
        f for f in store.query(FOLDER_KIND) if folder_uuid in {p["uuid"] for p in _path_to_root(store, f)[1:]}
    ]


def _item_page(ctx: RequestContext, request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    params = request.query_params
    search = (params.get("search") or "").lower()
    if search:
        items = [i for i in items if search in i["name"].lower()]
    item_types = params.getlist("itemTypes")
    if item_types:
        items = [i for i in items if i["item_type"] in item_types]
    if params.get("isInDataset") is not None:
        linked = {row["item_uuid"] for row in ctx.store.query("data_row")}
        wanted = parse_bool(params.get("isInDataset"))
        items = [i for i in items if (i["uuid"] in linked) == wanted]
    sort_key = "created_at" if params.get("order") == "createdAt" else "name"
    page = keyset_page(items, sort_key, check_page_size(int(params.get("pageSize", 100))), params.get("pageToken"),
                       parse_bool(params.get("desc")))  # fmt: skip
    sign = parse_bool(params.get("signUrls"))
    include_metadata = parse_bool(params.get("includeClientMetadata"), default=True)
    page["results"] = [
        item_dto(i, signed_url(ctx.app, i) if sign else None, include_metadata) for i in page["results"]
    ]
    return page


@router.get("/storage/items/{item_uuid}")
def get_item(item_uuid: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    item = get_item_or_404(ctx.store, item_uuid)
    sign = parse_bool(request.query_params.get("signUrl"))
    return item_dto(item, signed_url(ctx.app, item) if sign else None)


@router.post("/storage/items/get-bulk")
def get_items_bulk(payload: JsonBody, ctx: Ctx) -> dict[str, Any]:
    uuids = [str(u) for u in payload.get("itemUuids") or []]
    found = ctx.store.get_many(ITEM_KIND, uuids)
    missing = [u for u in uuids if u not in found]
    if missing:
        raise not_found(f"storage items not found: {missing[:10]}")
    sign = bool(payload.get("signUrls"))
    results = [item_dto(found[u], signed_url(ctx.app, found[u]) if sign else None) for u in uuids]
    return {"results": results, "nextPageToken": None}


@router.get("/storage/folders/{folder_uuid}/items/{item_uuid}/child-items")
def get_child_items(folder_uuid: str, item_uuid: str, request: Request,
                    ctx: Ctx) -> dict[str, Any]:  # fmt: skip
    item = get_item_or_404(ctx.store, item_uuid)
    sign = parse_bool(request.query_params.get("signUrls"))
    results = []
    for index, child in enumerate(item.get("children") or []):
        child_item = {**item, **{k: v for k, v in child.items() if k in item}, "uuid": _child_uuid(item, index),
                      "item_type": "dicomFile" if item["item_type"] == "dicomSeries" else "image",
                      "name": child.get("title") or child["key"].rsplit("/", 1)[-1], "url": child["url"],
                      "frame_count": None}  # fmt: skip
        results.append(item_dto(child_item, signed_url(ctx.app, item, index) if sign else None))
    return {"results": results, "nextPageToken": None}


def _child_uuid(item: dict[str, Any], index: int) -> str:
    import uuid as uuid_module

    return str(uuid_module.uuid5(uuid_module.UUID(item["uuid"]), str(index)))


@router.patch("/storage/folders/{folder_uuid}/items/{item_uuid}")
def patch_item(folder_uuid: str, item_uuid: str, payload: JsonBody,
               ctx: Ctx) -> dict[str, Any]:  # fmt: skip
    item = get_item_or_404(ctx.store, item_uuid)
    if item["parent"] != folder_uuid:
        raise not_found(f"storage item {item_uuid} in folder {folder_uuid}")
    return item_dto(update_item(ctx.store, item_uuid, payload))


# ---------------------------------------------------------------- upload jobs


@router.post("/storage/folders/{folder_uuid}/data-upload-jobs")
def start_upload_job(folder_uuid: str, payload: JsonBody,
                     ctx: Ctx) -> str:  # fmt: skip
    get_folder_or_404(ctx.store, folder_uuid)
    integration_uuid = payload.get("integrationHash")
    integration = None
    if integration_uuid:
        integration = ctx.store.get(INTEGRATION_KIND, str(integration_uuid))
        if integration is None:
            raise invalid_arguments(f"unknown cloud integration {integration_uuid}")
    try:
        units, flags = parse_upload_body(payload)
    except ManifestError as exc:
        name = payload.get("fileName") or "upload JSON"
        raise invalid_arguments(f"{name}: {exc}") from exc
    if not units:
        raise invalid_arguments("the upload JSON lists no files")
    return job_runner(ctx.app).start(folder_uuid, integration, units, flags, bool(payload.get("ignoreErrors")),
                                     payload.get("fileName"), ctx.user_email)  # fmt: skip


@router.get("/storage/folders/{folder_uuid}/data-upload-jobs/{job_uuid}")
def get_upload_job(folder_uuid: str, job_uuid: str, request: Request,
                   ctx: Ctx) -> dict[str, Any]:  # fmt: skip
    requested = float(request.query_params.get("timeoutSeconds") or 0)
    cap = float(ctx.app.setting("long_poll_cap_seconds", LONG_POLL_CAP_SECONDS))
    return job_runner(ctx.app).wait(folder_uuid, job_uuid, max(0.0, min(requested, cap)))


@router.post("/storage/folders/{folder_uuid}/data-upload-jobs/{job_uuid}/cancel")
def cancel_upload_job(folder_uuid: str, job_uuid: str, ctx: Ctx) -> dict[str, Any]:
    return {"unitsCancelledCount": job_runner(ctx.app).cancel(folder_uuid, job_uuid)}


def _json_object(value: Any, name: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise invalid_arguments(f"{name} is not valid JSON") from None
    if not isinstance(value, dict):
        raise invalid_arguments(f"{name} must be a JSON object")
    return value


# ---------------------------------------------------------------- seed sections


def _seed_integrations(state: AppState, value: Any) -> None:
    for index, entry in enumerate(entries("integrations", value)):
        title = str(require("integrations", index, entry, "title"))
        provider = str(require("integrations", index, entry, "provider"))
        if provider not in PROVIDERS:
            raise SeedError(f"integration {title!r}: provider must be one of {PROVIDERS}, got {provider!r}")
        doc = {key: value for key, value in entry.items()}
        doc.update(_azure_fields(entry) if provider == "azure" else {})
        if provider == "azure" and not (doc.get("account_name") and doc.get("account_key")):
            raise SeedError(
                f"integration {title!r}: azure needs connection_string or account_name + account_key"
            )
        existing = state.store.query(INTEGRATION_KIND, title=title)
        doc["uuid"] = str(entry.get("uuid") or (existing[0]["uuid"] if existing else new_uuid()))
        state.store.put(INTEGRATION_KIND, doc["uuid"], doc)
        signer = state.services.get("signer")
        if isinstance(signer, CloudReader):
            signer.forget(doc["uuid"])
        job_runner(state).reader.forget(doc["uuid"])


def _azure_fields(entry: dict[str, Any]) -> dict[str, Any]:
    conn = entry.get("connection_string")
    if not conn:
        return {}
    parts = dict(part.split("=", 1) for part in conn.split(";") if "=" in part)
    fields = {"account_name": parts.get("AccountName"), "account_key": parts.get("AccountKey")}
    if parts.get("BlobEndpoint"):
        fields["endpoint_url"] = parts["BlobEndpoint"].rstrip("/")
    return {k: v for k, v in fields.items() if v and not entry.get(k)}


def _seed_folders(state: AppState, value: Any) -> None:
    owner = _first_user_email(state)
    for index, entry in enumerate(entries("folders", value)):
        name = str(require("folders", index, entry, "name"))
        parent = entry.get("parent")
        if parent and state.store.get(FOLDER_KIND, parent) is None:
            matches = state.store.query(FOLDER_KIND, name=parent)
            if not matches:
                raise SeedError(
                    f"folder {name!r}: parent {parent!r} is neither a folder uuid nor a folder name"
                )
            parent = matches[0]["uuid"]
        existing = [f for f in state.store.query(FOLDER_KIND, name=name) if f.get("parent") == parent]
        if entry.get("uuid") and state.store.get(FOLDER_KIND, entry["uuid"]) is not None:
            continue
        if existing and not entry.get("uuid"):
            continue
        create_folder(state.store, name, owner, entry.get("description"), parent, entry.get("client_metadata"),
                      uuid=entry.get("uuid"))  # fmt: skip


def _first_user_email(state: AppState) -> str:
    users = state.store.query("user")
    return str(users[0]["email"]) if users else "emulator@localhost"


def public_integration(doc: dict[str, Any]) -> dict[str, Any]:
    """The integration without credentials (admin state, logs)."""
    return {k: ("***" if k in SECRET_FIELDS else v) for k, v in doc.items()}


register_seed_section("integrations", _seed_integrations)
register_seed_section("folders", _seed_folders)


# ---------------------------------------------------------------- folder and item management
# State changes are plain functions of the store (``update_folder``, ``move_items``, ...); the routes
# below only parse the wire format and render the result.

ItemsHook = Callable[[Any, list[dict[str, Any]], dict[str, Any], bool], None]
_ITEMS_LEFT_HOOKS: list[ItemsHook] = []
SUMMARY_COUNTERS = {
    "video": "videos", "image": "images", "imageGroup": "imageGroups", "imageSequence": "imageSequences",
    "dicomFile": "dicomFiles", "dicomSeries": "dicomSeries", "nifti": "niftis", "audio": "audios",
    "pdf": "pdfs", "plainText": "plainTexts",
}  # fmt: skip


def on_items_left_folder(hook: ItemsHook) -> ItemsHook:
    """Register ``hook(store, items, folder, deleted)``: ``items`` were just deleted (``deleted``) or moved
    out of ``folder``, in the same transaction (the datasets module drops their data rows, which in turn drops tasks and labels)."""
    _ITEMS_LEFT_HOOKS.append(hook)
    return hook


def _items_of_folder(store: Any, folder_uuid: str, item_uuids: list[str]) -> list[dict[str, Any]]:
    """The items, all of which must be immediate children of ``folder_uuid`` (as the SDK documents)."""
    get_folder_or_404(store, folder_uuid)
    found = store.get_many(ITEM_KIND, item_uuids)
    missing = [u for u in item_uuids if u not in found]
    if missing:
        raise not_found(f"storage items not found: {missing[:10]}")
    elsewhere = [u for u in item_uuids if found[u]["parent"] != folder_uuid]
    if elsewhere:
        raise invalid_arguments(f"items {elsewhere[:10]} are not immediate children of folder {folder_uuid}")
    return [found[u] for u in dict.fromkeys(item_uuids)]


def folder_summary(store: Any, folder_uuid: str) -> dict[str, Any]:
    """``StorageFolderSummary`` of the folder's immediate children."""
    get_folder_or_404(store, folder_uuid)
    items = store.query(ITEM_KIND, parent=folder_uuid)
    summary: dict[str, Any] = dict.fromkeys(SUMMARY_COUNTERS.values(), 0)
    for item in items:
        counter = SUMMARY_COUNTERS.get(item["item_type"])
        if counter:
            summary[counter] += 1
    summary.update(
        files=len(items),
        folders=store.count(FOLDER_KIND, parent=folder_uuid),
        tombstones=0,
        uploadJobs=store.count("upload_job", folder=folder_uuid),
        totalSize=float(sum(_item_size(item) for item in items)),
    )
    return summary


def _item_size(item: dict[str, Any]) -> int:
    children = item.get("children") or []
    if children:
        return sum(int(child.get("file_size") or 0) for child in children)
    return int(item.get("file_size") or 0)


def _apply_patch(doc: dict[str, Any], patch: dict[str, Any], where: str) -> None:
    """A ``PatchFolderPayload`` / ``PatchItemPayload``: absent or null fields stay as they are."""
    if patch.get("name") is not None:
        if not str(patch["name"]).strip():
            raise invalid_arguments(f"{where}: name must not be empty")
        doc["name"] = str(patch["name"])
    if patch.get("description") is not None:
        doc["description"] = str(patch["description"])
    if patch.get("clientMetadata") is not None:
        doc["client_metadata"] = _json_object(patch["clientMetadata"], "clientMetadata")
    doc["last_edited_at"] = now_iso()


def update_folder(store: Any, folder_uuid: str, patch: dict[str, Any]) -> dict[str, Any]:
    folder = get_folder_or_404(store, folder_uuid)
    _apply_patch(folder, patch, f"folder {folder_uuid}")
    store.put(FOLDER_KIND, folder_uuid, folder)
    return folder


def update_item(store: Any, item_uuid: str, patch: dict[str, Any]) -> dict[str, Any]:
    item = get_item_or_404(store, item_uuid)
    _apply_patch(item, patch, f"storage item {item_uuid}")
    store.put(ITEM_KIND, item_uuid, item)
    return item


def move_folders(store: Any, folder_uuids: list[str], new_parent: str | None) -> None:
    """Re-parent folders; a folder cannot move into itself or one of its own subfolders."""
    target = get_folder_or_404(store, new_parent) if new_parent else None
    ancestors = {p["uuid"] for p in _path_to_root(store, target)} if target else set()
    with store.transaction():
        for folder_uuid in folder_uuids:
            folder = get_folder_or_404(store, folder_uuid)
            if folder_uuid in ancestors:
                raise invalid_arguments(f"folder {folder_uuid} cannot move into itself or its own subfolder")
            folder["parent"] = new_parent
            folder["last_edited_at"] = now_iso()
            store.put(FOLDER_KIND, folder_uuid, folder)


def _check_mirror_change(folder: dict[str, Any], allowed: bool, what: str) -> None:
    if folder.get("synced_dataset_hash") and not allowed:
        raise invalid_arguments(
            f"folder {folder['uuid']} mirrors dataset {folder['synced_dataset_hash']}: {what} would remove "
            "data units from it; pass allow_mirror_dataset_changes=True"
        )


def move_items(
    store: Any, folder_uuid: str, item_uuids: list[str], new_parent: str, allow_mirror: bool
) -> None:
    """Move immediate children of ``folder_uuid`` to ``new_parent``."""
    get_folder_or_404(store, new_parent)
    with store.transaction():
        items = _items_of_folder(store, folder_uuid, item_uuids)
        source = get_folder_or_404(store, folder_uuid)
        if new_parent == folder_uuid:
            return
        _check_mirror_change(source, allow_mirror, "moving these items")
        stamp = now_iso()
        for item in items:
            item.update(parent=new_parent, last_edited_at=stamp)
        store.put_many(ITEM_KIND, {item["uuid"]: item for item in items})
        for hook in _ITEMS_LEFT_HOOKS:
            hook(store, items, source, False)


def delete_items(store: Any, folder_uuid: str, item_uuids: list[str]) -> int:
    """Delete immediate children of ``folder_uuid``; they leave every dataset that linked them."""
    with store.transaction():
        items = _items_of_folder(store, folder_uuid, item_uuids)
        folder = get_folder_or_404(store, folder_uuid)
        for item in items:
            store.delete(ITEM_KIND, item["uuid"])
        for hook in _ITEMS_LEFT_HOOKS:
            hook(store, items, folder, True)
    return len(items)


def item_summary(store: Any, item: dict[str, Any]) -> dict[str, Any]:
    """``_StorageItemPrivateSummary``: the datasets that link the item (group frames are not items here)."""
    rows = store.query("data_row", item_uuid=item["uuid"])
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_dataset.setdefault(row["dataset_hash"], []).append(row)
    datasets = store.get_many("dataset", list(by_dataset))
    accessible = [
        {"datasetHash": dataset_hash, "backingFolderUuid": datasets[dataset_hash].get("backing_folder_uuid"),
         "title": datasets[dataset_hash]["title"], "dataHashes": [r["data_hash"] for r in dataset_rows],
         "dataUnitsCreatedAt": min(r["created_at"] for r in dataset_rows)}
        for dataset_hash, dataset_rows in by_dataset.items()
        if dataset_hash in datasets
    ]  # fmt: skip
    return {"frameInGroups": 0, "accessibleGroupItems": [], "usedInDatasets": len(by_dataset),
            "accessibleDatasets": accessible, "groupLayout": None}  # fmt: skip


@router.get("/storage/folders/{folder_uuid}/summary")
def get_folder_summary(folder_uuid: str, ctx: Ctx) -> dict[str, Any]:
    return folder_summary(ctx.store, folder_uuid)


@router.patch("/storage/folders/patch-bulk")
def patch_folders_bulk(payload: JsonBody, ctx: Ctx) -> dict[str, Any]:
    patches = payload.get("folderPatches") or {}
    with ctx.store.transaction():
        folders = [update_folder(ctx.store, str(uuid), patch or {}) for uuid, patch in patches.items()]
    return {"results": [folder_dto(ctx.store, f) for f in folders], "nextPageToken": None}


@router.patch("/storage/folders/{folder_uuid}")
def patch_folder(folder_uuid: str, payload: JsonBody, ctx: Ctx) -> dict[str, Any]:
    return folder_dto(ctx.store, update_folder(ctx.store, folder_uuid, payload))


@router.post("/storage/folders/move")
def post_move_folders(payload: JsonBody, ctx: Ctx) -> None:
    uuids = [str(u) for u in payload.get("folderUuids") or []]
    parent = payload.get("newParentUuid")
    move_folders(ctx.store, uuids, str(parent) if parent else None)


@router.post("/storage/folders/{folder_uuid}/items/move")
def post_move_items(folder_uuid: str, payload: JsonBody, ctx: Ctx) -> None:
    new_parent = payload.get("newParentUuid")
    if not new_parent:
        raise invalid_arguments("newParentUuid is required")
    uuids = [str(u) for u in payload.get("itemUuids") or []]
    move_items(ctx.store, folder_uuid, uuids, str(new_parent), bool(payload.get("allowSyncedDatasetMove")))


@router.post("/storage/folders/{folder_uuid}/items/delete")
def post_delete_items(folder_uuid: str, payload: JsonBody, ctx: Ctx) -> dict[str, int]:
    removed = delete_items(ctx.store, folder_uuid, [str(u) for u in payload.get("childUuids") or []])
    return {"removedItemsCount": removed, "removedFoldersCount": 0}


@router.get("/storage/folders/{folder_uuid}/items/{item_uuid}/summary")
def get_item_summary(folder_uuid: str, item_uuid: str, ctx: Ctx) -> dict[str, Any]:
    item = get_item_or_404(ctx.store, item_uuid)
    if item["parent"] != folder_uuid:
        raise not_found(f"storage item {item_uuid} in folder {folder_uuid}")
    return item_summary(ctx.store, item)


@router.patch("/storage/items/patch-bulk")
def patch_items_bulk(payload: JsonBody, ctx: Ctx) -> dict[str, Any]:
    patches = payload.get("itemPatches") or {}
    with ctx.store.transaction():
        items = [update_item(ctx.store, str(uuid), patch or {}) for uuid, patch in patches.items()]
    return {"results": [item_dto(i) for i in items], "nextPageToken": None}


@router.get("/storage/search/items")
def search_items(request: Request, ctx: Ctx) -> dict[str, Any]:
    """``find_storage_items`` (deprecated in the SDK): every folder, filtered like ``list_items``."""
    return _item_page(ctx, request, ctx.store.query(ITEM_KIND))
