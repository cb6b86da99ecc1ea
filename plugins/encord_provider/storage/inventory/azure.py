"""Azure Storage blob inventory (documented in "Azure Storage blob inventory", Inventory output).

Each run of a rule writes, in the rule's destination container, `YYYY/MM/DD/HH-MM-SS/<rule>/` holding one
or more CSV or Parquet data files, `<rule>-manifest.json` (with `files` [`blob`, `size`], the
`ruleDefinition` with its `schemaFields`, `inventoryStartTime`, `status`) and last
`<rule>-manifest.checksum`, the MD5 of the manifest, whose arrival marks the run finished. A CSV's first
row is always the schema row. `Name` is `<container>/<blob name>` (an inventory spans the account), so
rows of other containers are skipped. Rows for snapshots, non-current versions, deleted blobs and
hierarchical-namespace folders are not live blobs and are skipped too. Undocumented: whether the
checksum file holds hex or base64 (both are accepted) and the CSV time format (ISO 8601 and RFC 1123
are both read).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
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

MANIFEST_SUFFIX = "-manifest.json"
CHECKSUM_SUFFIX = "-manifest.checksum"
RULES = RowRules(
    key="name",
    size="contentlength",
    modified="lastmodified",
    etag="etag",
    key_has_container=True,
    skip_if_false=(("iscurrentversion", "not_current_version"),),
    skip_if_true=(("deleted", "deleted"), ("hdiisfolder", "folder")),
    skip_if_set=(("snapshot", "snapshot"),),
)
REQUIRED = {"name": "Name", "contentlength": "Content-Length"}
_LEVELS = (
    re.compile(r"^\d{4}$"),
    re.compile(r"^\d{2}$"),
    re.compile(r"^\d{2}$"),
    re.compile(r"^\d{2}-\d{2}-\d{2}$"),
)


def find_manifest(store: ObjectStore, location: str, *, rule: str | None, verify: bool) -> str:
    """`location` is a manifest key, or the folder holding the `YYYY/MM/DD/HH-MM-SS/` runs: then the newest
    finished run of `rule` (which may be left out when every run has a single rule)."""
    if location.endswith(MANIFEST_SUFFIX):
        return location
    folder = as_folder(location)
    for run in _runs_newest_first(store, folder, 0):
        key = _manifest_of_run(store, run, rule, verify)
        if key:
            return key
    raise InventoryError(
        store.uri(folder),
        f"no finished blob inventory run{' of rule ' + repr(rule) if rule else ''} here: expected "
        "YYYY/MM/DD/HH-MM-SS/<rule>/<rule>-manifest.json and <rule>-manifest.checksum",
    )


def _runs_newest_first(store: ObjectStore, folder: str, level: int) -> Iterator[str]:
    """Run folders `YYYY/MM/DD/HH-MM-SS/` under `folder`, newest first, listed one level at a time."""
    if level == len(_LEVELS):
        yield folder
        return
    names = sorted((n for n in child_folders(store, folder) if _LEVELS[level].match(n)), reverse=True)
    for name in names:
        yield from _runs_newest_first(store, f"{folder}{name}/", level + 1)


def _manifest_of_run(store: ObjectStore, run: str, rule: str | None, verify: bool) -> str | None:
    rules = [rule] if rule else child_folders(store, run)
    if len(rules) > 1:
        raise InventoryError(store.uri(run), f"this run holds several inventory rules {rules}: set 'rule'")
    for name in rules:
        key = f"{run}{name}/{name}{MANIFEST_SUFFIX}"
        if run_finished(store, key, f"{run}{name}/{name}{CHECKSUM_SUFFIX}", verify):
            return key
        log.info("blob inventory run %s has no finished manifest for rule %r; trying an older one", run, name)
    return None


def load_manifest(store: ObjectStore, key: str, *, verify: bool) -> Manifest:
    uri = store.uri(key)
    raw, doc = read_json_object(store, key)
    if verify:
        checksum = key.removesuffix(MANIFEST_SUFFIX) + CHECKSUM_SUFFIX
        check_manifest_checksum(store, raw, checksum, required=True)
    status = doc.get("status")
    if status != "Succeeded":
        raise InventoryError(
            uri, f"inventory run status is {status!r}, not 'Succeeded': its listing may be partial"
        )
    definition = field_of(doc, "ruleDefinition", dict, uri)
    object_type = definition.get("objectType", "blob")
    if object_type != "blob":
        raise InventoryError(uri, f"this is a {object_type!r} inventory; a blob inventory is needed")
    file_format = str(definition.get("format", "")).lower()
    if file_format not in ("csv", "parquet"):
        raise InventoryError(uri, f"ruleDefinition.format {definition.get('format')!r} is not csv or parquet")
    fields = definition.get("schemaFields")
    declared = tuple(normalise(f) for f in fields if isinstance(f, str)) if isinstance(fields, list) else ()
    missing = [label for name, label in REQUIRED.items() if declared and name not in declared]
    if missing:
        raise InventoryError(uri, f"ruleDefinition.schemaFields lacks the required {missing}: {fields}")
    files = [
        _data_file(entry, position, uri) for position, entry in enumerate(field_of(doc, "files", list, uri))
    ]
    if files:
        root = data_root(store, key, files[0].key, uri)
        files = [DataFile(root + f.key, f.size) for f in files]
    fmt: FileFormat = "csv" if file_format == "csv" else "parquet"
    return Manifest(
        uri=uri,
        kind="azure",
        file_format=fmt,
        files=tuple(files),
        snapshot_time=_time(field_of(doc, "inventoryStartTime", str, uri), uri),
        rules=RULES,
        csv=CsvLayout(None, header=True) if fmt == "csv" else None,
        declared_columns=declared,
        details={"rule": doc.get("ruleName"), "summary": doc.get("summary"), "folder": folder_of(key)},
    )


def _data_file(entry: Any, position: int, uri: str) -> DataFile:
    if not isinstance(entry, dict) or not isinstance(entry.get("blob"), str) or not entry["blob"]:
        raise InventoryError(uri, f"files[{position}] must be an object with a non-empty 'blob'")
    return DataFile(entry["blob"], byte_count(entry.get("size"), f"files[{position}]", uri))


def _time(value: str, uri: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise InventoryError(uri, f"inventoryStartTime {value!r} is not an ISO 8601 time") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
