"""Dataset documents: the only writer of kinds ``dataset``, ``data_row`` and ``dataset_upload``.

A data row links a storage item into a dataset; ``data_hash`` equals the item uuid (the SDK itself
assumes this). A dataset with a backing folder mirrors it: items registered or moved into that folder
become rows at once (storage's ``on_items_entered_folder`` hook), so reading rows never scans the folder.
Other services react to rows arriving or leaving through ``on_rows_added`` / ``on_rows_removed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from encord_emulator.core.common import new_uuid, now_iso
from encord_emulator.core.errors import EmulatorError, invalid_arguments, not_found
from encord_emulator.core.registry import AppState
from encord_emulator.core.store import Store
from encord_emulator.services.storage import models as storage
from encord_emulator.services.storage.jobs import job_runner
from encord_emulator.services.storage.manifest import ManifestError, parse_upload_body
from encord_emulator.services.storage.models import INTEGRATION_KIND, ITEM_KIND

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


def create_dataset(store: Store, title: str, owner: str, description: str | None = None, backing_folder: bool = False,
                   dataset_hash: str | None = None, backing_folder_uuid: str | None = None) -> dict[str, Any]:  # fmt: skip
    dataset_hash = dataset_hash or new_uuid()
    with store.transaction():
        if backing_folder and backing_folder_uuid is None:
            backing_folder_uuid = storage.create_folder(
                store, title, owner, description, synced_dataset_hash=dataset_hash
            )["uuid"]
        elif backing_folder_uuid is not None:
            storage.mirror_dataset(store, backing_folder_uuid, dataset_hash)
        dataset = {
            "dataset_hash": dataset_hash, "title": title, "description": description or "", "owner": owner,
            "backing_folder_uuid": backing_folder_uuid, "created_at": now_iso(), "last_edited_at": now_iso(),
        }  # fmt: skip
        store.put(DATASET_KIND, dataset_hash, dataset)
        if backing_folder_uuid is not None:  # an existing folder's items become rows now
            _mirror(store, dataset_hash, store.query(ITEM_KIND, parent=backing_folder_uuid))
    return dataset


def get_dataset_or_404(store: Store, dataset_hash: str) -> dict[str, Any]:
    dataset = store.get(DATASET_KIND, dataset_hash or "")
    if dataset is None:
        raise not_found(f"dataset {dataset_hash}")
    return dataset


def rows_of_dataset(store: Store, dataset_hash: str) -> list[dict[str, Any]]:
    """The dataset's rows (``data_row`` docs), in the order they were linked."""
    get_dataset_or_404(store, dataset_hash)
    return store.query(ROW_KIND, dataset_hash=dataset_hash)


def rows_by_data_hash(store: Store, dataset_hash: str, data_hashes: list[str]) -> dict[str, dict[str, Any]]:
    """The dataset's rows of these data hashes, read by id: O(wanted), not a scan of the dataset."""
    found = store.get_many(ROW_KIND, [row_id(dataset_hash, data_hash) for data_hash in data_hashes])
    return {row["data_hash"]: row for row in found.values()}


def get_row_or_404(store: Store, dataset_hash: str, data_hash: str) -> dict[str, Any]:
    row = store.get(ROW_KIND, row_id(dataset_hash, data_hash))
    if row is None:
        get_dataset_or_404(store, dataset_hash)
        raise not_found(f"data {data_hash} not in dataset {dataset_hash}")
    return row


@storage.on_items_entered_folder
def _mirror_new_items(store: Store, items: list[dict[str, Any]], folder: dict[str, Any]) -> None:
    """Items registered or moved into a mirrored folder become rows of its dataset."""
    dataset_hash = folder.get("synced_dataset_hash")
    if dataset_hash and store.get(DATASET_KIND, dataset_hash) is not None:
        _mirror(store, dataset_hash, items)


def _mirror(store: Store, dataset_hash: str, items: list[dict[str, Any]]) -> None:
    already = set(store.get_many(ROW_KIND, [row_id(dataset_hash, item["uuid"]) for item in items]))
    _link(store, dataset_hash, [item for item in items if row_id(dataset_hash, item["uuid"]) not in already])


def _link(store: Store, dataset_hash: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return _put_rows(store, dataset_hash, [(item["uuid"], item["uuid"]) for item in items])


def _put_rows(store: Store, dataset_hash: str, links: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """New rows ``(data hash, item uuid)``; the subscribers of ``on_rows_added`` hear of them."""
    rows = {
        row_id(dataset_hash, data_hash): {
            "dataset_hash": dataset_hash,
            "data_hash": data_hash,
            "item_uuid": item_uuid,
            "created_at": now_iso(),
        }  # fmt: skip
        for data_hash, item_uuid in links
    }
    store.put_many(ROW_KIND, rows)
    _added(store, dataset_hash, list(rows.values()))
    return list(rows.values())


def link_items(
    store: Store, dataset_hash: str, item_uuids: list[str], behaviour: str
) -> list[dict[str, Any]]:
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
    store: Store, dataset_hash: str, items: list[dict[str, Any]], already: set[str]
) -> list[dict[str, Any]]:
    links: dict[str, tuple[str, str]] = {}
    for item in items:
        key = row_id(dataset_hash, item["uuid"])
        data_hash = item["uuid"] if key not in already and key not in links else new_uuid()
        links[row_id(dataset_hash, data_hash)] = (data_hash, item["uuid"])
    return _put_rows(store, dataset_hash, list(links.values()))


RowsHook = Callable[[Store, str, list[str]], None]
RowsAddedHook = Callable[[Store, str, list[dict[str, Any]]], None]
_ROWS_REMOVED_HOOKS: list[RowsHook] = []
_ROWS_ADDED_HOOKS: list[RowsAddedHook] = []


def on_rows_added(hook: RowsAddedHook) -> RowsAddedHook:
    """Register ``hook(store, dataset_hash, rows)``, called in the same transaction once ``rows`` joined the
    dataset (the workflow service creates their tasks in the projects the dataset is attached to)."""
    _ROWS_ADDED_HOOKS.append(hook)
    return hook


def _added(store: Store, dataset_hash: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        for hook in _ROWS_ADDED_HOOKS:
            hook(store, dataset_hash, rows)


def on_rows_removed(hook: RowsHook) -> RowsHook:
    """Register ``hook(store, dataset_hash, data_hashes)``, called after data rows leave a dataset
    (the labels module drops the tasks and label rows of that data in the dataset's projects)."""
    _ROWS_REMOVED_HOOKS.append(hook)
    return hook


def remove_rows(store: Store, dataset_hash: str, data_hashes: list[str]) -> list[str]:
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


@storage.on_items_left_folder
def _unlink_items_that_left(
    store: Store, items: list[dict[str, Any]], folder: dict[str, Any], deleted: bool
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


def delete_data(store: Store, dataset_hash: str, data_hashes: list[str]) -> None:
    """The rows leave the dataset. In a mirror dataset the rows *are* the backing folder's items, so those
    items are deleted too (else the mirror would bring them back)."""
    dataset = get_dataset_or_404(store, dataset_hash)
    folder_uuid = dataset.get("backing_folder_uuid")
    with store.transaction():
        rows = [get_row_or_404(store, dataset_hash, data_hash) for data_hash in data_hashes]
        items = store.get_many(ITEM_KIND, [row["item_uuid"] for row in rows])
        mirrored = [uuid for uuid, item in items.items() if folder_uuid and item["parent"] == folder_uuid]
        if mirrored:
            storage.delete_items(store, str(folder_uuid), mirrored)
        rest = [row["data_hash"] for row in rows if row["item_uuid"] not in set(mirrored)]
        if rest:
            remove_rows(store, dataset_hash, rest)


UPLOAD_KIND = "dataset_upload"
LONG_POLL_CAP_SECONDS = 25.0


def start_dataset_upload(state: AppState, dataset_hash: str, params: dict[str, Any], owner: str) -> str:
    """Register the files as an upload job into the dataset's folder (the backing folder of a mirror
    dataset, else ``folderUuid``); the items are linked into the dataset when the job is polled done."""
    dataset = get_dataset_or_404(state.store, dataset_hash)
    folder_uuid = str(params.get("folderUuid") or dataset.get("backing_folder_uuid") or "")
    if not folder_uuid:
        raise invalid_arguments(f"dataset {dataset_hash} has no backing folder: pass folder= to name one")
    storage.get_folder_or_404(state.store, folder_uuid)
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
        linked = list(rows_by_data_hash(state.store, dataset_hash, list(dict.fromkeys(uuids))).values())
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
