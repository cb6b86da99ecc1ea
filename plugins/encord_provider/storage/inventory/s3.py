"""Amazon S3 Inventory (documented in the S3 User Guide, "Locating your inventory list").

Each run writes `<destination-prefix>/<source-bucket>/<config-ID>/YYYY-MM-DDTHH-MMZ/manifest.json`, then
`manifest.checksum` (the MD5 of manifest.json, whose arrival marks the run finished). The manifest names
the format (`CSV`, `ORC` or `Parquet`), the `fileSchema` and the data `files` (`key`, `size`,
`MD5checksum`), keys relative to the destination bucket. CSV files are gzip-compressed, have no header
row (the columns are `fileSchema`'s, in order) and URL-encode object keys. A `hive/dt=.../symlink.txt`
lists the same data files for Hive, without the schema or checksums, so it is not read here.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from encord_provider.storage.base import ObjectStore
from encord_provider.storage.inventory.errors import InventoryError
from encord_provider.storage.inventory.locate import (
    as_folder,
    byte_count,
    check_manifest_checksum,
    child_folders,
    data_root,
    field_of,
    folder_of,
    read_json_object,
    run_finished,
)
from encord_provider.storage.inventory.model import (
    CsvLayout,
    DataFile,
    FileFormat,
    Manifest,
    RowRules,
    normalise,
)

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CHECKSUM = "manifest.checksum"
RUN_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z$")
FORMATS: dict[str, FileFormat] = {"csv": "csv", "orc": "orc", "parquet": "parquet"}
RULES = RowRules(
    key="key",
    size="size",
    modified="lastmodifieddate",
    etag="etag",
    bucket="bucket",
    skip_if_true=(("isdeletemarker", "delete_marker"),),
    skip_if_false=(("islatest", "not_latest_version"),),
)
REQUIRED = {"key": "Key", "size": "Size"}
_ORC_FIELD = re.compile(r"[<,]\s*([A-Za-z_][A-Za-z0-9_]*)\s*:")
_PARQUET_FIELD = re.compile(r"\b(?:required|optional|repeated)\s+\w+\s+([A-Za-z_][A-Za-z0-9_]*)")


def find_manifest(store: ObjectStore, location: str, *, rule: str | None, verify: bool) -> str:
    """`location` is a manifest key, or the `<config-ID>` folder: then the newest finished run's manifest."""
    if location.endswith(MANIFEST):
        return location
    folder = as_folder(location)
    runs = sorted((name for name in child_folders(store, folder) if RUN_FOLDER.match(name)), reverse=True)
    for run in runs:
        key = f"{folder}{run}/{MANIFEST}"
        if run_finished(store, key, f"{folder}{run}/{CHECKSUM}", verify):
            return key
        log.info("S3 inventory run %s has no %s yet (unfinished); trying an older one", run, CHECKSUM)
    raise InventoryError(
        store.uri(folder),
        "no finished S3 inventory run here: expected YYYY-MM-DDTHH-MMZ/manifest.json and manifest.checksum "
        "under <destination-prefix>/<source-bucket>/<config-ID>/",
    )


def load_manifest(store: ObjectStore, key: str, *, verify: bool) -> Manifest:
    uri = store.uri(key)
    raw, doc = read_json_object(store, key)
    if verify:
        check_manifest_checksum(store, raw, folder_of(key) + CHECKSUM, required=True)
    file_format = field_of(doc, "fileFormat", str, uri).lower()
    if file_format not in FORMATS:
        raise InventoryError(uri, f"fileFormat {file_format!r} is not one of CSV, ORC, Parquet")
    columns = schema_columns(field_of(doc, "fileSchema", str, uri), file_format, uri)
    declared = tuple(normalise(column) for column in columns)
    missing = [label for name, label in REQUIRED.items() if name not in declared]
    if missing:
        raise InventoryError(uri, f"fileSchema lacks the required field(s) {missing}: {', '.join(columns)}")
    files = [
        _data_file(entry, position, uri) for position, entry in enumerate(field_of(doc, "files", list, uri))
    ]
    if files:
        root = data_root(store, key, files[0].key, uri)
        files = [DataFile(root + f.key, f.size, f.md5) for f in files]
    csv = CsvLayout(columns, header=False, url_encoded_keys=True) if file_format == "csv" else None
    source = doc.get("sourceBucket")
    return Manifest(
        uri=uri,
        kind="s3",
        file_format=FORMATS[file_format],
        files=tuple(files),
        snapshot_time=_creation_time(doc, uri),
        rules=RULES,
        csv=csv,
        declared_columns=declared,
        source_bucket=source if isinstance(source, str) else None,
        details={"version": doc.get("version"), "destination_bucket": doc.get("destinationBucket")},
    )


def schema_columns(schema: str, file_format: str, uri: str) -> tuple[str, ...]:
    """Column names from `fileSchema`: `Bucket, Key, ...` (CSV), `struct<bucket:string,...>` (ORC) or
    `message s3.inventory { required binary bucket (UTF8); ... }` (Parquet)."""
    if file_format == "csv":
        names = [name.strip() for name in schema.split(",")]
    elif file_format == "orc":
        names = _ORC_FIELD.findall(schema)
    else:
        names = _PARQUET_FIELD.findall(schema)
    if not names or not all(names):
        raise InventoryError(
            uri, f"fileSchema is not a {file_format.upper()} schema this reader understands: {schema!r:.200}"
        )
    return tuple(names)


def _data_file(entry: Any, position: int, uri: str) -> DataFile:
    where = f"files[{position}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or not entry["key"]:
        raise InventoryError(uri, f"{where} must be an object with a non-empty 'key'")
    size, md5 = byte_count(entry.get("size"), where, uri), entry.get("MD5checksum")
    if md5 is not None and (not isinstance(md5, str) or not re.fullmatch(r"[0-9A-Fa-f]{32}", md5)):
        raise InventoryError(uri, f"{where}.MD5checksum must be 32 hex digits, got {md5!r}")
    return DataFile(entry["key"], size, md5.lower() if md5 else None)


def _creation_time(doc: dict[str, Any], uri: str) -> datetime:
    """`creationTimestamp`: milliseconds since the epoch, as a string (the documented form) or a number."""
    value = doc.get("creationTimestamp")
    try:
        millis = int(value) if not isinstance(value, bool) else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        millis = None
    if millis is None:
        raise InventoryError(uri, f"creationTimestamp must be milliseconds since the epoch, got {value!r}")
    return datetime.fromtimestamp(millis / 1000, tz=UTC)
