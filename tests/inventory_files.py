"""Writes bucket inventories shaped like the real ones, for tests and benchmarks.

- `write_s3_inventory`: S3 Inventory (manifest.json + manifest.checksum, CSV.gz / ORC / Parquet files with
  the documented column names and types, URL-encoded keys in CSV).
- `write_gcs_report`: GCS Storage Insights inventory report (shards + `<config>_<time>_manifest.json`).
- `write_azure_inventory`: Azure blob inventory (`YYYY/MM/DD/HH-MM-SS/<rule>/` files, manifest, checksum).
- `write_s3_parquet_synthetic`: a large S3 Parquet inventory built column-wise (for benchmarks).

Every writer streams: rows are consumed in batches of `BATCH_ROWS`, data files go through a local temporary
file and `ObjectStore.write_file`, so a 10M-row inventory is written in bounded memory.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import itertools
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote_plus

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.orc as orc
import pyarrow.parquet as pq
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.records import ObjectRecord

BATCH_ROWS = 50_000
SNAPSHOT = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
MODIFIED = datetime(2024, 1, 1, 12, 30, 15, 123000, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    """One inventory row. The optional fields are written only by the formats and fields that have them."""

    key: str
    size: int | None = 1024
    etag: str | None = "d41d8cd98f00b204e9800998ecf8427e"
    last_modified: datetime | None = MODIFIED
    version_id: str | None = None
    is_latest: bool | None = None
    is_delete_marker: bool | None = None
    time_deleted: datetime | None = None  # GCS noncurrent versions
    snapshot: str | None = None  # Azure
    is_current_version: bool | None = None  # Azure
    deleted: bool | None = None  # Azure
    is_folder: bool | None = None  # Azure hdi_isfolder

    @classmethod
    def of(cls, record: ObjectRecord) -> Row:
        return cls(record.key, record.size, record.etag, record.last_modified)


def batches(rows: Iterable[Row], size: int = BATCH_ROWS) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def upload(store: ObjectStore, key: str, path: Path) -> dict[str, Any]:
    store.write_file(key, path)
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    return {"key": key, "size": path.stat().st_size, "MD5checksum": digest}


def java_form_encode(key: str) -> str:
    """Keys the way S3 Inventory's CSV writes them (Java's URLEncoder: `/` too is `%2F`, space is `+`)."""
    return quote_plus(key, safe="*")


# --- S3 ---------------------------------------------------------------------------------------------------

S3Format = Literal["csv", "orc", "parquet"]
S3_FIELDS = ("Bucket", "Key", "Size", "LastModifiedDate", "ETag", "StorageClass")
S3_VERSION_FIELDS = ("VersionId", "IsLatest", "IsDeleteMarker")
_S3_SNAKE = {
    "Bucket": "bucket",
    "Key": "key",
    "VersionId": "version_id",
    "IsLatest": "is_latest",
    "IsDeleteMarker": "is_delete_marker",
    "Size": "size",
    "LastModifiedDate": "last_modified_date",
    "ETag": "e_tag",
    "StorageClass": "storage_class",
}
_S3_TYPES: dict[str, pa.DataType] = {
    "bucket": pa.string(),
    "key": pa.string(),
    "version_id": pa.string(),
    "is_latest": pa.bool_(),
    "is_delete_marker": pa.bool_(),
    "size": pa.int64(),
    "last_modified_date": pa.timestamp("ms", tz="UTC"),
    "e_tag": pa.string(),
    "storage_class": pa.string(),
}


def s3_fields(versioned: bool = False, without: Sequence[str] = ()) -> tuple[str, ...]:
    fields = S3_FIELDS[:2] + (S3_VERSION_FIELDS if versioned else ()) + S3_FIELDS[2:]
    return tuple(f for f in fields if f not in without)


def _s3_value(row: Row, field: str, bucket: str) -> Any:
    return {
        "Bucket": bucket,
        "Key": row.key,
        "VersionId": row.version_id,
        "IsLatest": row.is_latest,
        "IsDeleteMarker": row.is_delete_marker,
        "Size": row.size,
        "LastModifiedDate": row.last_modified,
        "ETag": row.etag,
        "StorageClass": "STANDARD",
    }[field]


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return str(value)


def _to_millis(moment: datetime) -> datetime:
    """S3 keeps last-modified times to the millisecond."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _s3_schema_text(fields: Sequence[str], file_format: S3Format) -> str:
    if file_format == "csv":
        return ", ".join(fields)
    snake = [_S3_SNAKE[f] for f in fields]
    if file_format == "orc":
        orc_types = {pa.string(): "string", pa.bool_(): "boolean", pa.int64(): "bigint"}
        parts = [f"{n}:{orc_types.get(_S3_TYPES[n], 'timestamp')}" for n in snake]
        return "struct<" + ",".join(parts) + ">"
    pq_types = {pa.string(): "binary {} (UTF8)", pa.bool_(): "boolean {}", pa.int64(): "int64 {}"}
    parts = [
        ("required " if n in ("bucket", "key") else "optional ")
        + pq_types.get(_S3_TYPES[n], "int64 {} (TIMESTAMP_MILLIS)").format(n)
        + ";"
        for n in snake
    ]
    return "message s3.inventory { " + " ".join(parts) + " }"


def _s3_table(rows: list[Row], fields: Sequence[str], bucket: str, file_format: S3Format) -> pa.Table:
    columns = {}
    for field in fields:
        name = _S3_SNAKE[field]
        kind = _S3_TYPES[name]
        if file_format == "orc" and pa.types.is_timestamp(kind):
            kind = pa.timestamp("ns")  # ORC timestamps have no zone; the values are UTC
            values = [_s3_value(r, field, bucket) for r in rows]
            values = [_to_millis(v).astimezone(UTC).replace(tzinfo=None) if v else None for v in values]
        else:
            values = [_s3_value(r, field, bucket) for r in rows]
        columns[name] = pa.array(values, kind)
    return pa.table(columns)


def write_s3_data_file(
    path: Path,
    rows: Iterable[Row],
    fields: Sequence[str],
    bucket: str,
    file_format: S3Format,
    encode_key: Callable[[str], str] = java_form_encode,
) -> None:
    if file_format == "csv":
        with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
            for row in rows:
                values = [_s3_value(row, f, bucket) for f in fields]
                if "Key" in fields:
                    values[list(fields).index("Key")] = encode_key(row.key)
                writer.writerow([_csv_text(v) for v in values])
        return
    writer_obj: Any = None
    try:
        for batch in batches(rows):
            table = _s3_table(batch, fields, bucket, file_format)
            if writer_obj is None:
                writer_obj = (
                    pq.ParquetWriter(path, table.schema, compression="snappy")
                    if file_format == "parquet"
                    else orc.ORCWriter(str(path), compression="zlib")
                )
            writer_obj.write_table(table) if file_format == "parquet" else writer_obj.write(table)
        if writer_obj is None:  # no rows: an empty file with the schema
            empty = _s3_table([], fields, bucket, file_format)
            (pq.write_table(empty, path) if file_format == "parquet" else orc.write_table(empty, str(path)))
    finally:
        if writer_obj is not None:
            writer_obj.close()


def s3_run_folder(destination_prefix: str, source_bucket: str, config_id: str) -> str:
    return f"{destination_prefix.strip('/') + '/' if destination_prefix.strip('/') else ''}{source_bucket}/{config_id}/"


def write_s3_inventory(
    store: ObjectStore,
    rows: Iterable[Row],
    *,
    destination_prefix: str = "inventories",
    source_bucket: str = "source-bucket",
    config_id: str = "daily",
    created: datetime = SNAPSHOT,
    file_format: S3Format = "csv",
    rows_per_file: int = 1000,
    fields: Sequence[str] | None = None,
    versioned: bool = False,
    checksum: bool = True,
    encode_key: Callable[[str], str] = java_form_encode,
    manifest_edit: Callable[[dict[str, Any]], Any] | None = None,
) -> str:
    """Write one S3 inventory run; returns the manifest's key. `manifest_edit` may change the manifest dict
    (or return bytes to write instead) before it is written, to make it malformed."""
    fields = tuple(fields or s3_fields(versioned))
    folder = s3_run_folder(destination_prefix, source_bucket, config_id)
    run = created.strftime("%Y-%m-%dT%H-%MZ")
    suffix = {"csv": ".csv.gz", "orc": ".orc", "parquet": ".parquet"}[file_format]
    files = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, chunk in enumerate(_file_chunks(rows, rows_per_file)):
            path = Path(tmp) / f"part{number}{suffix}"
            write_s3_data_file(path, chunk, fields, source_bucket, file_format, encode_key)
            files.append(upload(store, f"{folder}data/{run}-{number:05d}{suffix}", path))
            path.unlink()
    return _write_s3_manifest(
        store, folder, run, source_bucket, created, file_format, fields, files, checksum, manifest_edit
    )


def _write_s3_manifest(
    store: ObjectStore,
    folder: str,
    run: str,
    source_bucket: str,
    created: datetime,
    file_format: S3Format,
    fields: Sequence[str],
    files: list[dict[str, Any]],
    checksum: bool = True,
    manifest_edit: Callable[[dict[str, Any]], Any] | None = None,
) -> str:
    manifest: dict[str, Any] = {
        "sourceBucket": source_bucket,
        "destinationBucket": f"arn:aws:s3:::{store.bucket}",
        "version": "2016-11-30",
        "creationTimestamp": str(int(created.timestamp() * 1000)),
        "fileFormat": {"csv": "CSV", "orc": "ORC", "parquet": "Parquet"}[file_format],
        "fileSchema": _s3_schema_text(fields, file_format),
        "files": files,
    }
    edited = manifest_edit(manifest) if manifest_edit else None
    body = edited if isinstance(edited, bytes) else json.dumps(manifest, indent=4).encode()
    key = f"{folder}{run}/manifest.json"
    store.write_bytes(key, body)
    if checksum:
        store.write_bytes(f"{folder}{run}/manifest.checksum", hashlib.md5(body).hexdigest().encode() + b"\n")
    return key


def _file_chunks(rows: Iterable[Row], rows_per_file: int) -> Iterator[Iterator[Row]]:
    """Consecutive runs of `rows_per_file` rows, each a lazy iterator (consume one before the next)."""
    iterator = iter(rows)
    while True:
        first = next(iterator, None)
        if first is None:
            return
        yield itertools.chain([first], itertools.islice(iterator, rows_per_file - 1))


# --- GCS --------------------------------------------------------------------------------------------------

GCS_FIELDS = (
    "project",
    "bucket",
    "name",
    "location",
    "size",
    "timeCreated",
    "updated",
    "storageClass",
    "etag",
)


def _gcs_value(row: Row, field: str, bucket: str) -> Any:
    return {
        "project": "test-project",
        "bucket": bucket,
        "name": row.key,
        "location": "EU",
        "size": row.size,
        "timeCreated": row.last_modified,
        "updated": row.last_modified,
        "timeDeleted": row.time_deleted,
        "storageClass": "STANDARD",
        "etag": row.etag,
    }[field]


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def write_gcs_report(
    store: ObjectStore,
    rows: Iterable[Row],
    *,
    destination_path: str = "reports/",
    config_id: str = "3f2a1b0c-5d6e-4f70-8a9b-0c1d2e3f4a5b",
    snapshot: datetime = SNAPSHOT,
    file_format: Literal["csv", "parquet"] = "csv",
    rows_per_file: int = 1000,
    fields: Sequence[str] = GCS_FIELDS,
    source_bucket: str = "source-bucket",
    header: bool = True,
    delimiter: str = ",",
    camel_case: bool = True,
) -> str:
    stamp = snapshot.strftime("%Y-%m-%dT%H:%M")
    base = f"{destination_path}{config_id}_{stamp}_"
    names = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, chunk in enumerate(_file_chunks(rows, rows_per_file)):
            path = Path(tmp) / f"shard{number}.{file_format}"
            _write_gcs_shard(path, chunk, fields, source_bucket, file_format, header, delimiter)
            upload(store, f"{base}{number}.{file_format}", path)
            names.append(f"{config_id}_{stamp}_{number}.{file_format}")
    options_key = "csvOptions" if file_format == "csv" else "parquetOptions"
    options = (
        {"delimiter": delimiter, "recordSeparator": "\n", "headerRequired": header}
        if file_format == "csv"
        else {}
    )
    config: dict[str, Any] = {
        "name": f"projects/test-project/locations/eu/reportConfigs/{config_id}",
        options_key: options,
        "objectMetadataReportOptions": {
            "metadataFields": list(fields),
            "storageFilters": {"bucket": source_bucket},
            "storageDestinationOptions": {"bucket": store.bucket, "destinationPath": destination_path},
        },
    }
    if not camel_case:
        config = _snake_keys(config)
    manifest = {
        "report_config": config,
        "records_processed": None,
        "snapshot_time": _rfc3339(snapshot),
        "shard_count": len(names),
        "report_shards_file_names": names,
    }
    key = f"{base}manifest.json"
    store.write_bytes(key, json.dumps(manifest).encode())
    return key


def _snake_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            "".join("_" + c.lower() if c.isupper() else c for c in k): _snake_keys(v)
            for k, v in value.items()
        }
    return value


def _write_gcs_shard(
    path: Path,
    rows: Iterable[Row],
    fields: Sequence[str],
    bucket: str,
    file_format: str,
    header: bool,
    delimiter: str,
) -> None:
    if file_format == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
            if header:
                writer.writerow(fields)
            for row in rows:
                writer.writerow(
                    ["" if v is None else _rfc3339(v) for v in (_gcs_value(row, f, bucket) for f in fields)]
                )
        return
    types = {
        "size": pa.int64(),
        "timeCreated": pa.timestamp("us", tz="UTC"),
        "updated": pa.timestamp("us", tz="UTC"),
    }
    types["timeDeleted"] = pa.timestamp("us", tz="UTC")
    writer_obj: pq.ParquetWriter | None = None
    for batch in batches(rows):
        table = pa.table(
            {
                f: pa.array([_gcs_value(r, f, bucket) for r in batch], types.get(f, pa.string()))
                for f in fields
            }
        )
        writer_obj = writer_obj or pq.ParquetWriter(path, table.schema)
        writer_obj.write_table(table)
    if writer_obj is not None:
        writer_obj.close()


# --- Azure ------------------------------------------------------------------------------------------------

AZURE_FIELDS = (
    "Name",
    "Creation-Time",
    "Last-Modified",
    "Etag",
    "Content-Length",
    "Content-Type",
    "BlobType",
    "AccessTier",
)
AZURE_VERSION_FIELDS = ("Snapshot", "VersionId", "IsCurrentVersion", "Deleted")


def _azure_time(value: datetime | None, style: str) -> str:
    if value is None:
        return ""
    value = value.astimezone(UTC)
    if style == "rfc1123":
        return value.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0Z"  # 7 fraction digits


def _azure_value(row: Row, field: str, container: str) -> Any:
    return {
        "Name": f"{container}/{row.key}",
        "Creation-Time": row.last_modified,
        "Last-Modified": row.last_modified,
        "Etag": row.etag,
        "Content-Length": row.size,
        "Content-Type": "application/octet-stream",
        "BlobType": "BlockBlob",
        "AccessTier": "Hot",
        "Snapshot": row.snapshot,
        "VersionId": row.version_id,
        "IsCurrentVersion": row.is_current_version,
        "Deleted": row.deleted,
        "hdi_isfolder": row.is_folder,
    }[field]


def write_azure_inventory(
    store: ObjectStore,
    rows: Iterable[Row],
    *,
    container: str = "source-container",
    rule: str = "daily",
    run: datetime = SNAPSHOT,
    file_format: Literal["csv", "parquet"] = "csv",
    rows_per_file: int = 1000,
    fields: Sequence[str] = AZURE_FIELDS,
    status: str = "Succeeded",
    checksum: bool = True,
    checksum_style: Literal["hex", "base64"] = "hex",
    time_style: Literal["iso", "rfc1123"] = "iso",
    prefix: str = "",
) -> str:
    folder = f"{prefix}{run:%Y/%m/%d/%H-%M-%S}/{rule}/"
    files = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, chunk in enumerate(_file_chunks(rows, rows_per_file)):
            path = Path(tmp) / f"part{number}.{file_format}"
            _write_azure_file(path, chunk, fields, container, file_format, time_style)
            blob = f"{folder}{rule}_{number}.{file_format}"
            store.write_file(blob, path)
            files.append({"blob": blob, "size": path.stat().st_size})
    manifest = {
        "destinationContainer": store.bucket,
        "endpoint": "https://devstoreaccount1.blob.core.windows.net",
        "files": files,
        "inventoryCompletionTime": _rfc3339(run),
        "inventoryStartTime": _rfc3339(run),
        "ruleDefinition": {
            "filters": {"blobTypes": ["blockBlob"], "prefixMatch": [container]},
            "format": file_format,
            "objectType": "blob",
            "schedule": "daily",
            "schemaFields": list(fields),
        },
        "ruleName": rule,
        "status": status,
        "summary": {"objectCount": None, "totalObjectSize": None},
        "version": "1.0",
    }
    body = json.dumps(manifest, indent=2).encode()
    key = f"{folder}{rule}-manifest.json"
    store.write_bytes(key, body)
    if checksum:
        digest = hashlib.md5(body)
        text = digest.hexdigest() if checksum_style == "hex" else base64.b64encode(digest.digest()).decode()
        store.write_bytes(f"{folder}{rule}-manifest.checksum", text.encode())
    return key


def _write_azure_file(
    path: Path, rows: Iterable[Row], fields: Sequence[str], container: str, file_format: str, time_style: str
) -> None:
    if file_format == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(fields)
            for row in rows:
                values = [_azure_value(row, f, container) for f in fields]
                writer.writerow(
                    [_azure_time(v, time_style) if isinstance(v, datetime) else _csv_text(v) for v in values]
                )
        return
    types = {
        "Creation-Time": pa.timestamp("ms", tz="UTC"),
        "Last-Modified": pa.timestamp("ms", tz="UTC"),
        "Content-Length": pa.int64(),
        "IsCurrentVersion": pa.bool_(),
        "Deleted": pa.bool_(),
        "hdi_isfolder": pa.bool_(),
    }
    writer_obj: pq.ParquetWriter | None = None
    for batch in batches(rows):
        table = pa.table(
            {
                f: pa.array([_azure_value(r, f, container) for r in batch], types.get(f, pa.string()))
                for f in fields
            }
        )
        writer_obj = writer_obj or pq.ParquetWriter(path, table.schema)
        writer_obj.write_table(table)
    if writer_obj is not None:
        writer_obj.close()


# --- large synthetic inventories ---------------------------------------------------------------------------


def synthetic_key_column(start: int, count: int, prefix: str = "data/") -> pa.Array:
    """Keys `data/dt=2024-01-DD/cam{i % 7}/img_{i:010d}.jpg` built column-wise (no Python string per row)."""
    index = pa.array(range(start, start + count), pa.int64())
    day = pc.cast(
        pc.add(pc.divide(pc.subtract(index, pc.multiply(pc.divide(index, 28), 28)), 1), 1), pa.string()
    )
    digits = pc.utf8_lpad(pc.cast(index, pa.string()), width=10, padding="0")
    day = pc.utf8_lpad(day, width=2, padding="0")
    cam = pc.cast(pc.subtract(index, pc.multiply(pc.divide(index, 7), 7)), pa.string())
    return pc.binary_join_element_wise(prefix + "dt=2024-01-", day, "/cam", cam, "/img_", digits, ".jpg", "")


def write_s3_parquet_synthetic(
    store: ObjectStore,
    n_rows: int,
    *,
    rows_per_file: int = 2_000_000,
    row_group_rows: int = 250_000,
    source_bucket: str = "source-bucket",
    created: datetime = SNAPSHOT,
) -> str:
    """An S3 Parquet inventory of `n_rows` synthetic objects, written column-wise (fast, bounded memory)."""
    fields = s3_fields()
    folder = s3_run_folder("inventories", source_bucket, "daily")
    run = created.strftime("%Y-%m-%dT%H-%MZ")
    stamp = int(MODIFIED.timestamp() * 1000)
    files = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, start in enumerate(range(0, n_rows, rows_per_file)):
            path = Path(tmp) / f"part{number}.parquet"
            count = min(rows_per_file, n_rows - start)
            schema = pa.schema([(_S3_SNAKE[f], _S3_TYPES[_S3_SNAKE[f]]) for f in fields])
            with pq.ParquetWriter(path, schema, compression="snappy") as writer:
                for group in range(start, start + count, row_group_rows):
                    size = min(row_group_rows, start + count - group)
                    index = pa.array(range(group, group + size), pa.int64())
                    writer.write_table(
                        pa.table(
                            {
                                "bucket": pa.array([source_bucket] * size, pa.string()),
                                "key": synthetic_key_column(group, size),
                                "size": pc.add(index, 1000),
                                "last_modified_date": pa.array([stamp] * size, pa.int64()).cast(
                                    pa.timestamp("ms", tz="UTC")
                                ),
                                "e_tag": pa.array(["0cc175b9c0f1b6a831c399e269772661"] * size, pa.string()),
                                "storage_class": pa.array(["STANDARD"] * size, pa.string()),
                            },
                            schema=schema,
                        )
                    )
            files.append(upload(store, f"{folder}data/{run}-{number:05d}.parquet", path))
            path.unlink()
    return _write_s3_manifest(store, folder, run, source_bucket, created, "parquet", fields, files)


def synthetic_rows(n_rows: int) -> Iterator[Row]:
    """The rows `write_s3_parquet_synthetic` writes, one Row at a time (for CSV and ORC inventories)."""
    for i in range(n_rows):
        key = f"data/dt=2024-01-{i % 28 + 1:02d}/cam{i % 7}/img_{i:010d}.jpg"
        yield Row(key, 1000 + i, "0cc175b9c0f1b6a831c399e269772661", MODIFIED)


def tweak(row: Row, **changes: Any) -> Row:
    return replace(row, **changes)
