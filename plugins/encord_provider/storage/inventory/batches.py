"""Read a local data file as a stream of record batches of at most `batch_rows` rows.

Columns come out under their normalised names (see `model.normalise`), CSV values as strings (empty
means missing), so that `rows.py` converts every format the same way. Only the columns `wanted` are
read from ORC and Parquet. Nothing here holds more than one batch (a Parquet row group, an ORC stripe
or one CSV block while it is being sliced).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import pyarrow as pa
import pyarrow.csv as pa_csv

from encord_provider.storage.inventory.errors import InventoryError
from encord_provider.storage.inventory.model import CsvLayout, FileFormat, normalise

CSV_BLOCK_BYTES = 4 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows `first_row + 1 ..` of one data file (data rows counted from 1, a header row not counted)."""

    first_row: int
    table: pa.RecordBatch


def read_batches(
    path: Path, file_format: FileFormat, layout: CsvLayout | None, wanted: set[str], uri: str, batch_rows: int
) -> Iterator[Batch]:
    if file_format == "parquet":
        batches = _parquet(path, wanted, uri, batch_rows)
    elif file_format == "orc":
        batches = _orc(path, wanted, uri)
    else:
        assert layout is not None
        batches = _csv(path, layout, uri)
    first_row = 0
    for table in batches:
        for start in range(0, table.num_rows, batch_rows):
            piece = table.slice(start, batch_rows)
            yield Batch(first_row, piece.rename_columns([normalise(n) for n in piece.schema.names]))
            first_row += piece.num_rows


def _selected(names: list[str], wanted: set[str]) -> list[str]:
    return [name for name in names if normalise(name) in wanted]


def _parquet(path: Path, wanted: set[str], uri: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise InventoryError(uri, f"not a readable Parquet file: {err}") from err
    rows = 0
    try:
        for batch in parquet.iter_batches(
            batch_size=batch_rows, columns=_selected(parquet.schema_arrow.names, wanted)
        ):
            yield batch
            rows += batch.num_rows
    except (pa.ArrowException, OSError) as err:
        raise InventoryError(uri, f"unreadable Parquet data after data row {rows}: {err}") from err


def _orc(path: Path, wanted: set[str], uri: str) -> Iterator[pa.RecordBatch]:
    import pyarrow.orc as orc

    try:
        orc_file = orc.ORCFile(str(path))
        columns = _selected(orc_file.schema.names, wanted)
    except (pa.ArrowException, OSError) as err:
        raise InventoryError(uri, f"not a readable ORC file: {err}") from err
    rows = 0
    for stripe in range(orc_file.nstripes):
        try:
            batch = orc_file.read_stripe(stripe, columns=columns)
        except (pa.ArrowException, OSError) as err:
            raise InventoryError(uri, f"unreadable ORC stripe {stripe} after data row {rows}: {err}") from err
        yield batch
        rows += batch.num_rows


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def _open_bytes(path: Path, compressed: bool) -> IO[bytes]:
    return cast(IO[bytes], gzip.open(path, "rb") if compressed else path.open("rb"))


def _open_text(path: Path, compressed: bool) -> IO[str]:
    return io.TextIOWrapper(_open_bytes(path, compressed), encoding="utf-8", newline="")


def _first_row(path: Path, compressed: bool, delimiter: str, uri: str) -> list[str]:
    try:
        with _open_text(path, compressed) as text:
            return next(csv.reader(text, delimiter=delimiter), [])
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as err:
        raise InventoryError(uri, f"cannot read the first CSV row: {err}", line=1) from err


def _has_data_rows(path: Path, compressed: bool, header: bool) -> bool:
    with _open_bytes(path, compressed) as raw:
        first = raw.readline()
        return bool(raw.readline().strip()) if header else bool(first)


def _csv(path: Path, layout: CsvLayout, uri: str) -> Iterator[pa.RecordBatch]:
    compressed = _is_gzip(path)
    columns = list(layout.columns) if layout.columns else None
    header = layout.header
    if columns is None or header is None:
        first = _first_row(path, compressed, layout.delimiter, uri)
        if columns is None:
            columns = first
        header = (
            header if header is not None else [normalise(c) for c in first] == [normalise(c) for c in columns]
        )
    if not columns or not all(columns):
        raise InventoryError(uri, "the CSV header row is empty or has an empty column name", line=1)
    if not _has_data_rows(path, compressed, header):
        return  # an empty data file (or a header alone) is a legal, empty shard
    source: pa.NativeFile = pa.OSFile(str(path))
    if compressed:
        source = pa.CompressedInputStream(source, "gzip")
    reader_options = pa_csv.ReadOptions(
        column_names=columns, skip_rows=1 if header else 0, block_size=CSV_BLOCK_BYTES
    )
    parse_options = pa_csv.ParseOptions(
        delimiter=layout.delimiter, newlines_in_values=not layout.url_encoded_keys
    )
    convert_options = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(columns, pa.string()),
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    rows = 0
    try:
        with pa_csv.open_csv(source, reader_options, parse_options, convert_options) as reader:
            for batch in reader:
                yield batch
                rows += batch.num_rows
    except (pa.ArrowException, OSError) as err:
        raise locate_csv_error(
            path, compressed, layout.delimiter, len(columns), header, rows, uri, err
        ) from err


def locate_csv_error(
    path: Path,
    compressed: bool,
    delimiter: str,
    width: int,
    header: bool,
    rows_read: int,
    uri: str,
    err: Exception,
) -> InventoryError:
    """The first problem in a CSV file the fast reader rejected, found again by the standard library so the
    error can name the line: text that is not UTF-8, a row with the wrong number of fields, bad quoting,
    a broken gzip stream. Falls back to the fast reader's message."""
    line = 0
    try:
        with _open_bytes(path, compressed) as raw:
            for chunk in raw:
                line += 1
                chunk.decode("utf-8")
        with _open_text(path, compressed) as text:
            reader = csv.reader(text, delimiter=delimiter, strict=True)
            for row in reader:
                if reader.line_num == 1 and header:
                    continue
                if len(row) != width:
                    return InventoryError(
                        uri, f"expected {width} CSV fields, found {len(row)}", line=reader.line_num
                    )
    except UnicodeDecodeError as bad:
        return InventoryError(uri, f"not UTF-8 text: {bad.reason}", line=line)
    except csv.Error as bad:
        return InventoryError(uri, f"malformed CSV: {bad}", line=reader.line_num)
    except (OSError, EOFError) as bad:
        return InventoryError(uri, f"broken {'gzip ' if compressed else ''}data after line {line}: {bad}")
    return InventoryError(uri, f"malformed CSV after data row {rows_read}: {err}")
