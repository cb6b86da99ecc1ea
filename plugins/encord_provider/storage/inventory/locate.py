"""Finding and reading manifests in an inventory store, shared by the three formats."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import posixpath
from typing import Any, TypeVar

from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import ObjectNotFoundError
from encord_provider.storage.inventory.errors import ChecksumMismatchError, InventoryError

T = TypeVar("T")


def read_json_object(store: ObjectStore, key: str) -> tuple[bytes, dict[str, Any]]:
    """The raw bytes and the parsed JSON object at `key`; InventoryError naming it if missing or malformed."""
    uri = store.uri(key)
    try:
        raw = store.read_bytes(key)
    except ObjectNotFoundError as err:
        raise InventoryError(uri, "manifest not found") from err
    try:
        parsed = json.loads(raw)
    except UnicodeDecodeError as err:
        raise InventoryError(uri, f"manifest is not UTF-8 text: {err.reason}") from err
    except json.JSONDecodeError as err:
        raise InventoryError(uri, f"not valid JSON: {err.msg}", line=err.lineno) from err
    if not isinstance(parsed, dict):
        raise InventoryError(uri, f"manifest must be a JSON object, got {type(parsed).__name__}")
    return raw, parsed


def field_of(manifest: dict[str, Any], name: str, kind: type[T], uri: str) -> T:
    """`manifest[name]`, which must be present and of type `kind`."""
    if name not in manifest:
        raise InventoryError(uri, f"manifest has no {name!r} field")
    value = manifest[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InventoryError(uri, f"manifest field {name!r} must be {kind.__name__}, got {value!r:.80}")
    return value


def md5_matches(declared: str, digest: bytes) -> bool:
    """True if `declared` is `digest` as hex (S3, GCS) or base64 (Azure's Content-MD5 style)."""
    text = declared.strip()
    if text.lower() == digest.hex():
        return True
    try:
        return base64.b64decode(text, validate=True) == digest
    except (binascii.Error, ValueError):
        return False


def check_manifest_checksum(
    store: ObjectStore, manifest_raw: bytes, checksum_key: str, required: bool
) -> None:
    """Compare the manifest with the MD5 in its checksum file. A missing checksum file is an error when
    `required` (the checksum file marks a finished inventory run), else it is not checked."""
    uri = store.uri(checksum_key)
    try:
        declared = store.read_bytes(checksum_key).decode("ascii", errors="replace")
    except ObjectNotFoundError as err:
        if not required:
            return
        raise InventoryError(uri, "checksum file not found: the inventory run may be unfinished") from err
    if not md5_matches(declared, hashlib.md5(manifest_raw).digest()):
        raise ChecksumMismatchError(
            uri,
            f"manifest MD5 is {hashlib.md5(manifest_raw).hexdigest()}, checksum file says {declared.strip()!r:.80}",
        )


def child_folders(store: ObjectStore, prefix: str) -> list[str]:
    """The names of the folders directly under `prefix` (which ends with `/` or is empty)."""
    list_level = getattr(store, "list_level", None)
    if list_level is not None:  # every backend of this package has it; the fallback lists everything below
        return [entry[len(prefix) :].rstrip("/") for entry in list_level(prefix) if isinstance(entry, str)]
    rests = (record.key[len(prefix) :] for record in store.list_objects(prefix))
    return sorted({rest.split("/", 1)[0] for rest in rests if "/" in rest})


def as_folder(location: str) -> str:
    """`a/b` or `a/b/` -> `a/b/`; the bucket root stays ``."""
    return location.rstrip("/") + "/" if location.strip("/") else ""


def run_finished(store: ObjectStore, manifest_key: str, checksum_key: str, verify: bool) -> bool:
    """A run is finished once its checksum file is written; unverified, once its manifest is."""
    return store.exists(checksum_key) or (not verify and store.exists(manifest_key))


def byte_count(value: Any, where: str, uri: str) -> int | None:
    """A manifest's declared file size: absent, or a non-negative integer."""
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise InventoryError(uri, f"{where}.size must be a byte count, got {value!r}")
    return value


def folder_of(key: str) -> str:
    """`a/b/manifest.json` -> `a/b/`; `manifest.json` -> ``."""
    parent = posixpath.dirname(key)
    return parent + "/" if parent else ""


def data_root(store: ObjectStore, manifest_key: str, first_name: str, manifest_uri: str) -> str:
    """The key prefix data file names in a manifest are relative to.

    Inventories name data files relative to the root of the bucket they were delivered to (GCS shard
    names, when they are bare file names, relative to the manifest's folder). A copy of an inventory in
    another bucket or on local disk keeps the layout under some folder, so the manifest's folder and each
    of its ancestors are tried in turn; the first under which the first data file exists wins.
    """
    candidates = [""]
    folder = folder_of(manifest_key)
    while folder:
        candidates.append(folder)
        folder = folder_of(folder.rstrip("/"))
    if "/" not in first_name:
        candidates.insert(0, folder_of(manifest_key))
    for base in dict.fromkeys(candidates):
        if store.exists(base + first_name):
            return base
    raise InventoryError(
        manifest_uri,
        f"data file {first_name!r} listed in the manifest exists neither at the bucket root "
        "nor under any folder holding the manifest",
    )
