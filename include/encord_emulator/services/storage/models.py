"""Storage documents: the only writer of kinds ``integration``, ``folder`` and ``item``.

State changes are plain functions of the store; other services react to items entering or leaving a
folder through ``on_items_entered_folder`` / ``on_items_left_folder`` hooks, called in the same transaction.
Listings walk the store's ordered indexes (``Store.scan``), so a page costs O(page + log n).
"""

from __future__ import annotations

import json
import uuid as uuid_module
from collections.abc import Callable, Iterator
from typing import Any

from encord_emulator.clouds import backend_for
from encord_emulator.clouds.reader import CloudReader
from encord_emulator.clouds.urls import ObjectLocation, parse_object_url
from encord_emulator.core.common import new_uuid, now_iso
from encord_emulator.core.errors import invalid_arguments, not_found
from encord_emulator.core.registry import AppState
from encord_emulator.core.store import Store
from encord_emulator.services.storage import hosted

INTEGRATION_KIND = "integration"
FOLDER_KIND = "folder"
ITEM_KIND = "item"
SECRET_FIELDS = ("secret_access_key", "account_key", "connection_string")
SUMMARY_COUNTERS = {
    "video": "videos", "image": "images", "imageGroup": "imageGroups", "imageSequence": "imageSequences",
    "dicomFile": "dicomFiles", "dicomSeries": "dicomSeries", "nifti": "niftis", "audio": "audios",
    "pdf": "pdfs", "plainText": "plainTexts",
}  # fmt: skip

ItemsHook = Callable[[Store, list[dict[str, Any]], dict[str, Any]], None]
ItemsLeftHook = Callable[[Store, list[dict[str, Any]], dict[str, Any], bool], None]
_ITEMS_ENTERED_HOOKS: list[ItemsHook] = []
_ITEMS_LEFT_HOOKS: list[ItemsLeftHook] = []


def on_items_entered_folder(hook: ItemsHook) -> ItemsHook:
    """Register ``hook(store, items, folder)``: ``items`` were just registered or moved into ``folder``, in the
    same transaction (the datasets service links them into the folder's mirror dataset)."""
    _ITEMS_ENTERED_HOOKS.append(hook)
    return hook


def on_items_left_folder(hook: ItemsLeftHook) -> ItemsLeftHook:
    """Register ``hook(store, items, folder, deleted)``: ``items`` were just deleted (``deleted``) or moved
    out of ``folder``, in the same transaction (the datasets service drops their data rows, which in turn
    drops tasks and labels)."""
    _ITEMS_LEFT_HOOKS.append(hook)
    return hook


# ---------------------------------------------------------------- integrations


def put_integration(state: AppState, entry: dict[str, Any]) -> dict[str, Any]:
    """Create or replace an integration (matched by uuid, else title); raises ValueError if unusable."""
    doc = backend_for(str(entry["provider"])).integration_fields(entry)
    existing = state.store.query(INTEGRATION_KIND, title=doc["title"])
    doc["uuid"] = str(entry.get("uuid") or (existing[0]["uuid"] if existing else new_uuid()))
    state.store.put(INTEGRATION_KIND, doc["uuid"], doc)
    for reader in (cloud_reader(state), _job_reader(state)):
        if reader is not None:
            reader.forget(doc["uuid"])
    return doc


def cloud_reader(state: AppState) -> CloudReader:
    reader = state.services.setdefault("signer", CloudReader())
    assert isinstance(reader, CloudReader)
    return reader


def _job_reader(state: AppState) -> CloudReader | None:
    runner = state.services.get("jobs")
    return getattr(runner, "reader", None)


def public_integration(doc: dict[str, Any]) -> dict[str, Any]:
    """The integration without credentials (admin state, logs)."""
    return {k: ("***" if k in SECRET_FIELDS else v) for k, v in doc.items()}


def signed_url(state: AppState, item: dict[str, Any], child_index: int = 0) -> str | None:
    """A downloadable URL of the item's (first / ``child_index``-th) object on the local stand-in."""
    if item.get("hosted_keys"):
        return hosted.signed_get_url(state, item, child_index)
    integration = state.store.get(INTEGRATION_KIND, item.get("integration_hash") or "")
    if integration is None:
        return None
    children = item.get("children")
    if children:
        child = children[child_index]
        loc = ObjectLocation(child["bucket"], child["key"])
    else:
        loc = parse_object_url(item["url"], integration)
    return str(cloud_reader(state).signed_url(integration, loc))


# ---------------------------------------------------------------- folders


def get_folder_or_404(store: Store, folder_uuid: str) -> dict[str, Any]:
    folder = store.get(FOLDER_KIND, folder_uuid)
    if folder is None:
        raise not_found(f"storage folder {folder_uuid}")
    return folder


def path_to_root(store: Store, folder: dict[str, Any]) -> list[dict[str, Any]]:
    path: list[dict[str, Any]] = []
    current: dict[str, Any] | None = folder
    while current is not None and len(path) < 100:
        path.append({"uuid": current["uuid"], "parentUuid": current.get("parent"), "name": current["name"],
                     "syncedDatasetHash": current.get("synced_dataset_hash")})  # fmt: skip
        current = store.get(FOLDER_KIND, current["parent"]) if current.get("parent") else None
    return path


def descendants(store: Store, folder_uuid: str) -> list[dict[str, Any]]:
    return [
        f for f in store.query(FOLDER_KIND) if folder_uuid in {p["uuid"] for p in path_to_root(store, f)[1:]}
    ]


def create_folder(store: Store, name: str, owner: str, description: str | None = None, parent: str | None = None,
                  client_metadata: dict[str, Any] | None = None, uuid: str | None = None,
                  synced_dataset_hash: str | None = None) -> dict[str, Any]:  # fmt: skip
    if parent is not None:
        get_folder_or_404(store, parent)
    now = now_iso()
    folder: dict[str, Any] = {
        "uuid": uuid or new_uuid(), "name": name, "description": description or "", "parent": parent,
        "client_metadata": client_metadata or {}, "owner": owner, "created_at": now, "last_edited_at": now,
        "synced_dataset_hash": synced_dataset_hash,
    }  # fmt: skip
    store.put(FOLDER_KIND, folder["uuid"], folder)
    return folder


def mirror_dataset(store: Store, folder_uuid: str, dataset_hash: str) -> dict[str, Any]:
    """Make the folder the backing folder of ``dataset_hash``."""
    folder = get_folder_or_404(store, folder_uuid)
    folder["synced_dataset_hash"] = dataset_hash
    store.put(FOLDER_KIND, folder_uuid, folder)
    return folder


def delete_folder(store: Store, folder_uuid: str) -> None:
    get_folder_or_404(store, folder_uuid)
    if store.count(ITEM_KIND, parent=folder_uuid) or store.count(FOLDER_KIND, parent=folder_uuid):
        raise invalid_arguments(f"folder {folder_uuid} is not empty")
    store.delete(FOLDER_KIND, folder_uuid)


def update_folder(store: Store, folder_uuid: str, patch: dict[str, Any]) -> dict[str, Any]:
    folder = get_folder_or_404(store, folder_uuid)
    _apply_patch(folder, patch, f"folder {folder_uuid}")
    store.put(FOLDER_KIND, folder_uuid, folder)
    return folder


def move_folders(store: Store, folder_uuids: list[str], new_parent: str | None) -> None:
    """Re-parent folders; a folder cannot move into itself or one of its own subfolders."""
    target = get_folder_or_404(store, new_parent) if new_parent else None
    ancestors = {p["uuid"] for p in path_to_root(store, target)} if target else set()
    with store.transaction():
        for folder_uuid in folder_uuids:
            folder = get_folder_or_404(store, folder_uuid)
            if folder_uuid in ancestors:
                raise invalid_arguments(f"folder {folder_uuid} cannot move into itself or its own subfolder")
            folder["parent"] = new_parent
            folder["last_edited_at"] = now_iso()
            store.put(FOLDER_KIND, folder_uuid, folder)


def folder_summary(store: Store, folder_uuid: str) -> dict[str, Any]:
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


# ---------------------------------------------------------------- items


def get_item_or_404(store: Store, item_uuid: str) -> dict[str, Any]:
    item = store.get(ITEM_KIND, item_uuid)
    if item is None:
        raise not_found(f"storage item {item_uuid}")
    return item


def ordered_items(
    store: Store, folder_uuids: list[str], sort_key: str, after: tuple[str, str] | None, desc: bool
) -> Iterator[dict[str, Any]]:
    """Items of one folder (index walk) or several (merged in order), in ``(sort_key, uuid)`` order."""
    if len(folder_uuids) == 1:
        return store.scan(ITEM_KIND, sort_key, after=after, desc=desc, parent=folder_uuids[0])
    items = [item for uuid in folder_uuids for item in store.query(ITEM_KIND, parent=uuid)]
    return _sorted_after(items, sort_key, after, desc)


def ordered_all_items(
    store: Store, sort_key: str, after: tuple[str, str] | None, desc: bool
) -> Iterator[dict[str, Any]]:
    return store.scan(ITEM_KIND, sort_key, after=after, desc=desc)


def _sorted_after(
    rows: list[dict[str, Any]], sort_key: str, after: tuple[str, str] | None, desc: bool
) -> Iterator[dict[str, Any]]:
    def position(row: dict[str, Any]) -> tuple[str, str]:
        return (str(row.get(sort_key) or ""), str(row["uuid"]))

    for row in sorted(rows, key=position, reverse=desc):
        if after is None or (position(row) < after if desc else position(row) > after):
            yield row


def is_in_a_dataset(store: Store, item_uuid: str) -> bool:
    return store.count("data_row", item_uuid=item_uuid) > 0


def child_uuid(item: dict[str, Any], index: int) -> str:
    return str(uuid_module.uuid5(uuid_module.UUID(item["uuid"]), str(index)))


def insert_items(store: Store, folder_uuid: str, items: dict[str, dict[str, Any]]) -> None:
    """Register new items (an upload job's batch) into ``folder_uuid``."""
    with store.transaction():
        store.put_many(ITEM_KIND, items)
        _entered(store, list(items.values()), get_folder_or_404(store, folder_uuid))


def replace_client_metadata(store: Store, item: dict[str, Any], client_metadata: dict[str, Any]) -> None:
    """An upload job with ``upsert_metadata`` over an item it skipped as a duplicate."""
    item["client_metadata"] = client_metadata
    item["last_edited_at"] = now_iso()
    store.put(ITEM_KIND, item["uuid"], item)


def update_item(store: Store, item_uuid: str, patch: dict[str, Any]) -> dict[str, Any]:
    item = get_item_or_404(store, item_uuid)
    _apply_patch(item, patch, f"storage item {item_uuid}")
    store.put(ITEM_KIND, item_uuid, item)
    return item


def _items_of_folder(store: Store, folder_uuid: str, item_uuids: list[str]) -> list[dict[str, Any]]:
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


def _check_mirror_change(folder: dict[str, Any], allowed: bool, what: str) -> None:
    if folder.get("synced_dataset_hash") and not allowed:
        raise invalid_arguments(
            f"folder {folder['uuid']} mirrors dataset {folder['synced_dataset_hash']}: {what} would remove "
            "data units from it; pass allow_mirror_dataset_changes=True"
        )


def move_items(
    store: Store, folder_uuid: str, item_uuids: list[str], new_parent: str, allow_mirror: bool
) -> None:
    """Move immediate children of ``folder_uuid`` to ``new_parent``."""
    target = get_folder_or_404(store, new_parent)
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
        _entered(store, items, target)


def delete_items(store: Store, folder_uuid: str, item_uuids: list[str]) -> int:
    """Delete immediate children of ``folder_uuid``; they leave every dataset that linked them."""
    with store.transaction():
        items = _items_of_folder(store, folder_uuid, item_uuids)
        folder = get_folder_or_404(store, folder_uuid)
        for item in items:
            store.delete(ITEM_KIND, item["uuid"])
        for hook in _ITEMS_LEFT_HOOKS:
            hook(store, items, folder, True)
    return len(items)


def _entered(store: Store, items: list[dict[str, Any]], folder: dict[str, Any]) -> None:
    for hook in _ITEMS_ENTERED_HOOKS:
        hook(store, items, folder)


def item_summary(store: Store, item: dict[str, Any]) -> dict[str, Any]:
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


# ---------------------------------------------------------------- patches


def json_object(value: Any, name: str) -> dict[str, Any]:
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


def _apply_patch(doc: dict[str, Any], patch: dict[str, Any], where: str) -> None:
    """A ``PatchFolderPayload`` / ``PatchItemPayload``: absent or null fields stay as they are."""
    if patch.get("name") is not None:
        if not str(patch["name"]).strip():
            raise invalid_arguments(f"{where}: name must not be empty")
        doc["name"] = str(patch["name"])
    if patch.get("description") is not None:
        doc["description"] = str(patch["description"])
    if patch.get("clientMetadata") is not None:
        doc["client_metadata"] = json_object(patch["clientMetadata"], "clientMetadata")
    doc["last_edited_at"] = now_iso()
