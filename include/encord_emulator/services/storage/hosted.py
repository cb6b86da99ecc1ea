"""Uploads into Encord-hosted storage: the only writer of kind ``upload_slot``.

The SDK's ``StorageFolder.upload_image`` (and the other ``upload_*`` / ``create_*`` calls) do three things:

1. ``POST storage/folders/<uuid>/upload-signed-urls`` ``{itemType, count}``: one slot per file, each a
   placeholder item uuid, an object key and a signed PUT URL (``issue_slots``);
2. ``PUT`` of the file's bytes to the signed URL (``receive_upload``; the bytes go to ``HostedBlobs``);
3. an upload job whose ``dataItems`` name the slots by ``placeholderItemUuid`` (``uploaded_child``, called by
   the job runner); the item then serves the stored bytes through signed GET URLs (``signed_get_url``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from encord_emulator.clouds.hosted import STORAGE_LOCATION, HostedBlobs

__all__ = ["STORAGE_LOCATION", "HostedBlobs"]
from encord_emulator.core.common import new_uuid, now_iso
from encord_emulator.core.errors import invalid_arguments, not_found
from encord_emulator.core.registry import AppState

SLOT_KIND = "upload_slot"
# The ``itemType`` values the SDK asks upload URLs for (``StorageItemType``, camel case).
UPLOADABLE_TYPES = ("image", "video", "audio", "dicomFile", "nifti", "plainText", "pdf")
MAX_SLOTS_PER_REQUEST = 10_000
URL_EXPIRY_SECONDS = 3600


class HostedUploadError(ValueError):
    """A job names a placeholder that was never issued, is in another folder, or received no bytes."""


def hosted_blobs(state: AppState) -> HostedBlobs:
    blobs = state.services.get("hosted_blobs")
    if blobs is None:
        blobs = state.services["hosted_blobs"] = HostedBlobs(state.data_dir)
    assert isinstance(blobs, HostedBlobs)
    return blobs


def remember_base_url(state: AppState, base_url: str) -> None:
    """The URL clients reach the emulator at (signed URLs point there)."""
    state.services["hosted_base_url"] = base_url


def issue_slots(
    state: AppState, folder_uuid: str, payload: dict[str, Any], base_url: str
) -> list[dict[str, Any]]:
    """``UploadSignedUrl`` JSON for ``count`` new placeholders of ``itemType`` in the (existing) folder."""
    item_type = payload.get("itemType")
    count = payload.get("count")
    if item_type not in UPLOADABLE_TYPES:
        raise invalid_arguments(
            f"itemType {item_type!r} cannot be uploaded; expected one of {UPLOADABLE_TYPES}"
        )
    if not isinstance(count, int) or not 1 <= count <= MAX_SLOTS_PER_REQUEST:
        raise invalid_arguments(f"count must be an integer from 1 to {MAX_SLOTS_PER_REQUEST}, got {count!r}")
    remember_base_url(state, base_url)
    blobs = hosted_blobs(state)
    slots = []
    for _ in range(count):
        item_uuid = new_uuid()
        key = f"{folder_uuid}/{item_uuid}"
        state.store.put(SLOT_KIND, item_uuid, {"uuid": item_uuid, "folder": folder_uuid, "item_type": item_type,
                                               "object_key": key, "created_at": now_iso(), "size": None})  # fmt: skip
        put_url = blobs.signed_url(base_url, key, "PUT", URL_EXPIRY_SECONDS)
        slots.append({"itemUuid": item_uuid, "objectKey": key, "signedUrl": put_url, "uploadHeaders": {}})
    return slots


def slot_of_key(state: AppState, key: str) -> dict[str, Any]:
    found = state.store.query(SLOT_KIND, object_key=key)
    if not found:
        raise not_found(f"no upload URL was issued for object key {key}")
    return found[0]


def receive_upload(state: AppState, key: str, chunks: Iterable[bytes], content_type: str | None) -> int:
    """Store the PUT body of a signed upload URL; returns its size. A second PUT replaces the bytes, as a
    cloud bucket would, until a job registered the slot."""
    slot = slot_of_key(state, key)
    if slot.get("registered_as"):
        raise invalid_arguments(f"object key {key} is already registered as item {slot['registered_as']}")
    size = hosted_blobs(state).write(key, chunks)
    slot.update(size=size, content_type=content_type, uploaded_at=now_iso())
    state.store.put(SLOT_KIND, slot["uuid"], slot)
    return size


def uploaded_child(state: AppState, folder_uuid: str, placeholder: str) -> dict[str, Any]:
    """The stored object of a placeholder named in an upload job: ``{key, size, content_type}``."""
    slot = state.store.get(SLOT_KIND, str(placeholder))
    if slot is None:
        raise HostedUploadError(f"placeholder item {placeholder} was not issued by upload-signed-urls")
    if slot["folder"] != folder_uuid:
        raise HostedUploadError(f"placeholder item {placeholder} belongs to folder {slot['folder']}")
    if slot.get("registered_as") and state.store.get("item", slot["registered_as"]) is not None:
        raise HostedUploadError(f"placeholder item {placeholder} is already item {slot['registered_as']}")
    if slot.get("size") is None or hosted_blobs(state).size(slot["object_key"]) is None:
        raise HostedUploadError(f"nothing was uploaded to the signed URL of placeholder item {placeholder}")
    return {"key": slot["object_key"], "size": slot["size"], "content_type": slot.get("content_type")}


def mark_registered(state: AppState, placeholders: list[str], item_uuid: str) -> None:
    for placeholder in placeholders:
        slot = state.store.get(SLOT_KIND, placeholder)
        if slot is not None:
            slot["registered_as"] = item_uuid
            state.store.put(SLOT_KIND, placeholder, slot)


def read_object(state: AppState, key: str, length: int | None = None) -> bytes:
    return hosted_blobs(state).read(key, length)


def signed_get_url(state: AppState, item: dict[str, Any], child_index: int = 0) -> str:
    """A download URL of an Encord-hosted item's (``child_index``-th) object."""
    base = str(state.services.get("hosted_base_url") or item["hosted_base_url"])
    key = item["hosted_keys"][child_index]
    return hosted_blobs(state).signed_url(base, key, "GET", URL_EXPIRY_SECONDS)
