"""What every inventory format is read into: a manifest naming data files, and rules mapping their rows
onto the `ObjectRecord`s a bucket listing yields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

InventoryKind = Literal["s3", "gcs", "azure"]
FileFormat = Literal["csv", "orc", "parquet"]

_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def normalise(column: str) -> str:
    """`LastModifiedDate`, `last_modified_date` and `Last-Modified-Date` all become `lastmodifieddate`, so
    the CSV spelling of a field (S3 `ETag`, Azure `Content-Length`) meets its ORC/Parquet one (`e_tag`)."""
    return _NOT_ALNUM.sub("", column.lower())


@dataclass(frozen=True, slots=True)
class DataFile:
    """One data file a manifest lists: its key in the inventory store, and what the manifest declares."""

    key: str
    size: int | None = None
    md5: str | None = None  # lower-case hex


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """How a CSV data file is laid out. `columns` None: the header row names them. `header` None: the
    first row is a header if it repeats `columns` (formats that make the header optional)."""

    columns: tuple[str, ...] | None
    header: bool | None
    delimiter: str = ","
    gzip: bool = False
    url_encoded_keys: bool = False


@dataclass(frozen=True, slots=True)
class RowRules:
    """Which (normalised) columns of a format hold the record's fields, and which rows are not live
    objects. Flags: a row is skipped when a `skip_if_false` column is false, a `skip_if_true` column is
    true, or a `skip_if_set` column holds a value."""

    key: str
    size: str
    modified: str
    etag: str
    bucket: str | None = None  # rows whose bucket differs from the source bucket are skipped
    key_has_container: bool = False  # Azure: `Name` is `<container>/<blob name>`
    skip_if_false: tuple[tuple[str, str], ...] = ()  # (column, reason counted in the stats)
    skip_if_true: tuple[tuple[str, str], ...] = ()
    skip_if_set: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Manifest:
    """One inventory run as its manifest describes it."""

    uri: str
    kind: InventoryKind
    file_format: FileFormat
    files: tuple[DataFile, ...]
    snapshot_time: datetime  # when the inventory run began scanning the bucket (UTC)
    rules: RowRules
    csv: CsvLayout | None = None
    declared_columns: tuple[str, ...] = ()  # normalised; empty when the manifest does not list them
    source_bucket: str | None = None
    details: dict[str, object] = field(default_factory=dict)  # small facts worth a log line or report
