"""Index storage: cloud integrations, folders, items and upload jobs (v2 routes, api-surface §5)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from encord_emulator.clouds import hosted as hosted_blobs
from encord_emulator.core.common import check_page_size, keyset_page, ordered_page, page_cursor, parse_bool
from encord_emulator.core.errors import forbidden, invalid_arguments, not_found
from encord_emulator.core.registry import AppState, Ctx, RequestContext, app_state, on_startup
from encord_emulator.services.storage import hosted, models
from encord_emulator.services.storage.jobs import JOB_KIND, job_runner
from encord_emulator.services.storage.manifest import ManifestError, parse_upload_body
from encord_emulator.services.storage.models import (
    FOLDER_KIND,
    INTEGRATION_KIND,
    get_folder_or_404,
    get_item_or_404,
    path_to_root,
)


def _remember_base_url(request: Request) -> None:
    """Signed URLs of Encord-hosted objects point at the URL the SDK reached the emulator at."""
    hosted.remember_base_url(app_state(request), str(request.base_url))


router = APIRouter(dependencies=[Depends(_remember_base_url)])
root_router = APIRouter()
LONG_POLL_CAP_SECONDS = 25.0
JsonBody = Annotated[dict[str, Any], Body()]


@on_startup
def _resume_pending_jobs(state: AppState) -> None:
    runner = job_runner(state)
    for job in state.store.query(JOB_KIND, status="PENDING"):
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
        "pathToRoot": path_to_root(store, folder),
        "folderType": "generic",
        "integrationHash": None,
        "remoteUrl": None,
    }


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
    metadata = models.json_object(payload.get("clientMetadata"), "clientMetadata")
    folder = models.create_folder(
        ctx.store, name, ctx.user_email, payload.get("description"), payload.get("parent"), metadata
    )
    return folder_dto(ctx.store, folder)


@router.get("/storage/folders/{folder_uuid}")
def get_folder(folder_uuid: str, ctx: Ctx) -> dict[str, Any]:
    return folder_dto(ctx.store, get_folder_or_404(ctx.store, folder_uuid))


@router.delete("/storage/folders/{folder_uuid}")
def delete_folder(folder_uuid: str, ctx: Ctx) -> None:
    models.delete_folder(ctx.store, folder_uuid)


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
        folders = models.descendants(ctx.store, folder_uuid)
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
        folders += [f["uuid"] for f in models.descendants(ctx.store, folder_uuid)]
    sort_key, after, desc = _order(request)
    return _item_page(ctx, request, models.ordered_items(ctx.store, folders, sort_key, after, desc))


def _order(request: Request) -> tuple[str, tuple[str, str] | None, bool]:
    """(sort field, keyset cursor, descending) of a listing request."""
    params = request.query_params
    sort_key = "created_at" if params.get("order") == "createdAt" else "name"
    return sort_key, page_cursor(params.get("pageToken")), parse_bool(params.get("desc"))


def _item_page(ctx: RequestContext, request: Request, ordered: Iterator[dict[str, Any]]) -> dict[str, Any]:
    """One page of ``ordered`` items (already in cursor order) through the listing's filters."""
    params = request.query_params
    search = (params.get("search") or "").lower()
    item_types = set(params.getlist("itemTypes"))
    in_dataset = None if params.get("isInDataset") is None else parse_bool(params.get("isInDataset"))

    def keep(item: dict[str, Any]) -> bool:
        return (
            (not search or search in item["name"].lower())
            and (not item_types or item["item_type"] in item_types)
            and (in_dataset is None or models.is_in_a_dataset(ctx.store, item["uuid"]) == in_dataset)
        )

    sort_key, _, _ = _order(request)
    page = ordered_page(ordered, sort_key, check_page_size(int(params.get("pageSize", 100))), keep)
    sign = parse_bool(params.get("signUrls"))
    include_metadata = parse_bool(params.get("includeClientMetadata"), default=True)
    page["results"] = [
        item_dto(i, models.signed_url(ctx.app, i) if sign else None, include_metadata)
        for i in page["results"]
    ]
    return page


@router.get("/storage/items/{item_uuid}")
def get_item(item_uuid: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    item = get_item_or_404(ctx.store, item_uuid)
    sign = parse_bool(request.query_params.get("signUrl"))
    return item_dto(item, models.signed_url(ctx.app, item) if sign else None)


@router.post("/storage/items/get-bulk")
def get_items_bulk(payload: JsonBody, ctx: Ctx) -> dict[str, Any]:
    uuids = [str(u) for u in payload.get("itemUuids") or []]
    found = ctx.store.get_many(models.ITEM_KIND, uuids)
    missing = [u for u in uuids if u not in found]
    if missing:
        raise not_found(f"storage items not found: {missing[:10]}")
    sign = bool(payload.get("signUrls"))
    results = [item_dto(found[u], models.signed_url(ctx.app, found[u]) if sign else None) for u in uuids]
    return {"results": results, "nextPageToken": None}


@router.get("/storage/folders/{folder_uuid}/items/{item_uuid}/child-items")
def get_child_items(folder_uuid: str, item_uuid: str, request: Request,
                    ctx: Ctx) -> dict[str, Any]:  # fmt: skip
    item = get_item_or_404(ctx.store, item_uuid)
    sign = parse_bool(request.query_params.get("signUrls"))
    results = []
    for index, child in enumerate(item.get("children") or []):
        child_item = {**item, **{k: v for k, v in child.items() if k in item}, "uuid": models.child_uuid(item, index),
                      "item_type": "dicomFile" if item["item_type"] == "dicomSeries" else "image",
                      "name": child.get("title") or child["key"].rsplit("/", 1)[-1], "url": child["url"],
                      "frame_count": None}  # fmt: skip
        results.append(item_dto(child_item, models.signed_url(ctx.app, item, index) if sign else None))
    return {"results": results, "nextPageToken": None}


@router.patch("/storage/folders/{folder_uuid}/items/{item_uuid}")
def patch_item(folder_uuid: str, item_uuid: str, payload: JsonBody,
               ctx: Ctx) -> dict[str, Any]:  # fmt: skip
    item = get_item_or_404(ctx.store, item_uuid)
    if item["parent"] != folder_uuid:
        raise not_found(f"storage item {item_uuid} in folder {folder_uuid}")
    return item_dto(models.update_item(ctx.store, item_uuid, payload))


# ---------------------------------------------------------------- upload jobs


# ---------------------------------------------------------------- Encord-hosted uploads


@router.post("/storage/folders/{folder_uuid}/upload-signed-urls")
def post_upload_signed_urls(
    folder_uuid: str, payload: JsonBody, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """``StorageFolder._get_upload_signed_urls``: a ``Page[UploadSignedUrl]`` of new placeholders."""
    get_folder_or_404(ctx.store, folder_uuid)
    slots = hosted.issue_slots(ctx.app, folder_uuid, payload, str(request.base_url))
    return {"results": slots, "nextPageToken": None}


@root_router.put(hosted_blobs.ROUTE + "/{key:path}")
async def put_hosted_object(key: str, request: Request) -> Response:
    """The SDK's ``_upload_single_file``: PUT of a file's bytes to its signed URL (no Encord auth header)."""
    state = app_state(request)
    _check_signature(state, key, "PUT", request)
    chunks = [chunk async for chunk in request.stream()]
    await run_in_threadpool(hosted.receive_upload, state, key, chunks, request.headers.get("content-type"))
    return Response(status_code=200)


@root_router.get(hosted_blobs.ROUTE + "/{key:path}")
def get_hosted_object(key: str, request: Request) -> Response:
    """A signed GET URL of an Encord-hosted item (``item.get_signed_url()``, data row file links)."""
    state = app_state(request)
    _check_signature(state, key, "GET", request)
    slot = hosted.slot_of_key(state, key)
    if slot.get("size") is None:
        raise not_found(f"nothing was uploaded to {key}")
    return FileResponse(hosted.hosted_blobs(state).path(key), media_type=slot.get("content_type") or None)


def _check_signature(state: AppState, key: str, method: str, request: Request) -> None:
    params = request.query_params
    if params.get("method") != method:
        raise forbidden(f"the signed URL is for {params.get('method')!r}, not {method}")
    try:
        hosted.hosted_blobs(state).check(key, method, params.get("expires"), params.get("signature"))
    except hosted_blobs.SignatureError as exc:
        raise forbidden(str(exc)) from None


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


@router.get("/storage/folders/{folder_uuid}/summary")
def get_folder_summary(folder_uuid: str, ctx: Ctx) -> dict[str, Any]:
    return models.folder_summary(ctx.store, folder_uuid)


@router.patch("/storage/folders/patch-bulk")
def patch_folders_bulk(payload: JsonBody, ctx: Ctx) -> dict[str, Any]:
    patches = payload.get("folderPatches") or {}
    with ctx.store.transaction():
        folders = [models.update_folder(ctx.store, str(uuid), patch or {}) for uuid, patch in patches.items()]
    return {"results": [folder_dto(ctx.store, f) for f in folders], "nextPageToken": None}


@router.patch("/storage/folders/{folder_uuid}")
def patch_folder(folder_uuid: str, payload: JsonBody, ctx: Ctx) -> dict[str, Any]:
    return folder_dto(ctx.store, models.update_folder(ctx.store, folder_uuid, payload))


@router.post("/storage/folders/move")
def post_move_folders(payload: JsonBody, ctx: Ctx) -> None:
    uuids = [str(u) for u in payload.get("folderUuids") or []]
    parent = payload.get("newParentUuid")
    models.move_folders(ctx.store, uuids, str(parent) if parent else None)


@router.post("/storage/folders/{folder_uuid}/items/move")
def post_move_items(folder_uuid: str, payload: JsonBody, ctx: Ctx) -> None:
    new_parent = payload.get("newParentUuid")
    if not new_parent:
        raise invalid_arguments("newParentUuid is required")
    uuids = [str(u) for u in payload.get("itemUuids") or []]
    models.move_items(
        ctx.store, folder_uuid, uuids, str(new_parent), bool(payload.get("allowSyncedDatasetMove"))
    )


@router.post("/storage/folders/{folder_uuid}/items/delete")
def post_delete_items(folder_uuid: str, payload: JsonBody, ctx: Ctx) -> dict[str, int]:
    removed = models.delete_items(ctx.store, folder_uuid, [str(u) for u in payload.get("childUuids") or []])
    return {"removedItemsCount": removed, "removedFoldersCount": 0}


@router.get("/storage/folders/{folder_uuid}/items/{item_uuid}/summary")
def get_item_summary(folder_uuid: str, item_uuid: str, ctx: Ctx) -> dict[str, Any]:
    item = get_item_or_404(ctx.store, item_uuid)
    if item["parent"] != folder_uuid:
        raise not_found(f"storage item {item_uuid} in folder {folder_uuid}")
    return models.item_summary(ctx.store, item)


@router.patch("/storage/items/patch-bulk")
def patch_items_bulk(payload: JsonBody, ctx: Ctx) -> dict[str, Any]:
    patches = payload.get("itemPatches") or {}
    with ctx.store.transaction():
        items = [models.update_item(ctx.store, str(uuid), patch or {}) for uuid, patch in patches.items()]
    return {"results": [item_dto(i) for i in items], "nextPageToken": None}


@router.get("/storage/search/items")
def search_items(request: Request, ctx: Ctx) -> dict[str, Any]:
    """``find_storage_items`` (deprecated in the SDK): every folder, filtered like ``list_items``."""
    sort_key, after, desc = _order(request)
    return _item_page(ctx, request, models.ordered_all_items(ctx.store, sort_key, after, desc))
