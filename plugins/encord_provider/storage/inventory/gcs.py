"""Google Cloud Storage (Storage Insights) inventory reports.

What is documented, and relied on here: a report is written as shards named
`<destination path>/<report-config-id>_<snapshot time>_<shard>.csv` (or `.parquet`), the ReportDetail
`report_path_prefix` example; the CSV options (delimiter, record separator, optional header row) and the
metadata field names (`name`, `size`, `updated`, `etag`, `bucket`, `timeDeleted`, ...) of the
ReportConfig; and a manifest written once every shard is, holding `report_config`, `records_processed`,
`snapshot_time`, `shard_count` and `report_shards_file_names`.

What is not documented precisely enough, and how it is handled: whether `report_shards_file_names` holds
bare file names (taken relative to the manifest's folder) or paths (relative to the bucket), so both are
tried; how `report_config` is spelt inside the manifest, so REST camelCase and proto snake_case are both
read; whether a CSV has a header, so the first row is taken as one when it repeats the metadata fields
(or, without them, always). There is no checksum file; shard sizes are not declared. A row with
`timeDeleted` set is a noncurrent version and is skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from encord_provider.storage.base import ObjectStore
from encord_provider.storage.inventory.errors import InventoryError
from encord_provider.storage.inventory.locate import as_folder, data_root, field_of, read_json_object
from encord_provider.storage.inventory.model import (
    CsvLayout,
    DataFile,
    FileFormat,
    Manifest,
    RowRules,
    normalise,
)

MANIFEST_SUFFIX = "manifest.json"
RULES = RowRules(
    key="name",
    size="size",
    modified="updated",
    etag="etag",
    bucket="bucket",
    skip_if_set=(("timedeleted", "noncurrent_version"),),
)
REQUIRED = ("name", "size")


def find_manifest(store: ObjectStore, location: str, *, rule: str | None, verify: bool) -> str:
    """`location` is a manifest key, or the report's destination path: then the newest manifest under it
    (by the time the object was written, then by name)."""
    if location.endswith(MANIFEST_SUFFIX):
        return location
    folder = as_folder(location)
    manifests = [r for r in store.list_objects(folder) if r.key.endswith("_" + MANIFEST_SUFFIX)]
    if not manifests:
        raise InventoryError(
            store.uri(folder), "no inventory report manifest (*_manifest.json) under this path"
        )
    return max(manifests, key=lambda record: (record.last_modified, record.key)).key


def load_manifest(store: ObjectStore, key: str, *, verify: bool) -> Manifest:
    uri = store.uri(key)
    _, doc = read_json_object(store, key)
    names = field_of(doc, "report_shards_file_names", list, uri)
    if not all(isinstance(name, str) and name for name in names):
        raise InventoryError(uri, "report_shards_file_names must be a list of file names")
    count = doc.get("shard_count")
    if isinstance(count, int) and count != len(names):
        raise InventoryError(uri, f"shard_count is {count} but {len(names)} shard file names are listed")
    config = _camel_or_snake(doc, "report_config") or {}
    fields = _metadata_fields(config)
    declared = tuple(normalise(f) for f in fields)
    missing = [f for f in REQUIRED if declared and f not in declared]
    if missing:
        raise InventoryError(uri, f"the report's metadata fields lack the required {missing}: {list(fields)}")
    file_format = _file_format(config, names, uri)
    root = data_root(store, key, names[0], uri) if names else ""
    return Manifest(
        uri=uri,
        kind="gcs",
        file_format=file_format,
        files=tuple(DataFile(root + name) for name in names),
        snapshot_time=_snapshot_time(field_of(doc, "snapshot_time", str, uri), uri),
        rules=RULES,
        csv=_csv_layout(config, fields, uri) if file_format == "csv" else None,
        declared_columns=declared,
        source_bucket=_source_bucket(config),
        details={"records_processed": doc.get("records_processed"), "shard_count": len(names)},
    )


def _camel_or_snake(mapping: dict[str, Any], snake: str) -> Any:
    head, *rest = snake.split("_")
    camel = head + "".join(part.title() for part in rest)
    return mapping.get(camel, mapping.get(snake))


def _metadata_fields(config: dict[str, Any]) -> tuple[str, ...]:
    options = _camel_or_snake(config, "object_metadata_report_options") or {}
    fields = _camel_or_snake(options, "metadata_fields") if isinstance(options, dict) else None
    return tuple(f for f in fields if isinstance(f, str)) if isinstance(fields, list) else ()


def _source_bucket(config: dict[str, Any]) -> str | None:
    options = _camel_or_snake(config, "object_metadata_report_options") or {}
    filters = _camel_or_snake(options, "storage_filters") if isinstance(options, dict) else None
    bucket = filters.get("bucket") if isinstance(filters, dict) else None
    return bucket if isinstance(bucket, str) and bucket else None


def _file_format(config: dict[str, Any], names: list[str], uri: str) -> FileFormat:
    if _camel_or_snake(config, "parquet_options") is not None:
        return "parquet"
    if _camel_or_snake(config, "csv_options") is not None:
        return "csv"
    suffixes = {name.rsplit(".", 1)[-1].lower() for name in names}
    if suffixes == {"parquet"}:
        return "parquet"
    if suffixes == {"csv"}:
        return "csv"
    raise InventoryError(
        uri, f"cannot tell CSV from Parquet: no csv/parquet options and shard suffixes {sorted(suffixes)}"
    )


def _csv_layout(config: dict[str, Any], fields: tuple[str, ...], uri: str) -> CsvLayout:
    options = _camel_or_snake(config, "csv_options") or {}
    delimiter = _camel_or_snake(options, "delimiter") or ","
    separator = _camel_or_snake(options, "record_separator") or "\n"
    if len(delimiter) != 1 or separator not in ("\n", "\r\n"):
        raise InventoryError(
            uri, f"unsupported CSV options: delimiter {delimiter!r}, record separator {separator!r}"
        )
    header = _camel_or_snake(options, "header_required")
    if header is True or not fields:  # the header row names the columns (and must be there)
        return CsvLayout(None, header=True, delimiter=delimiter)
    return CsvLayout(fields, header=False if header is False else None, delimiter=delimiter)


def _snapshot_time(value: str, uri: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise InventoryError(uri, f"snapshot_time {value!r} is not an RFC 3339 time") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
