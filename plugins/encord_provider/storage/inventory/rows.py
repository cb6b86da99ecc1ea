"""Turn record batches of an inventory data file into the `ObjectRecord`s a bucket listing yields.

Per batch, the work that touches every row is done by pyarrow: which rows are live objects under the
prefix, sizes and times converted, quotes trimmed from ETags. Python then builds one record per kept
row. Values pyarrow cannot convert are looked at again row by row, so the error names the row.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from encord_provider.storage.inventory.batches import Batch
from encord_provider.storage.inventory.errors import InventoryError
from encord_provider.storage.inventory.keys import decode_form_key
from encord_provider.storage.inventory.model import RowRules
from encord_provider.storage.inventory.stats import InventoryStats
from encord_provider.storage.records import ObjectRecord

_MICROS_UTC = pa.timestamp("us", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BOOLEAN_TEXT = pa.array(["true", "false"])


@dataclass(frozen=True)
class RowContext:
    """What converting one data file needs. `bucket` is the source bucket (Azure: container) name."""

    uri: str
    rules: RowRules
    prefix: str
    bucket: str | None
    object_url: Callable[[str], str]
    default_modified: datetime
    url_encoded_keys: bool


def wanted_columns(rules: RowRules) -> set[str]:
    flags = (*rules.skip_if_false, *rules.skip_if_true, *rules.skip_if_set)
    names = {rules.key, rules.size, rules.modified, rules.etag, *(column for column, _ in flags)}
    return names | ({rules.bucket} if rules.bucket else set())


def check_columns(names: Iterable[str], ctx: RowContext) -> None:
    """The data file must hold the key and size columns (under any spelling of their names)."""
    present = set(names)
    missing = [column for column in (ctx.rules.key, ctx.rules.size) if column not in present]
    if missing:
        raise InventoryError(
            ctx.uri, f"data file lacks the required column(s) {missing}; it has {sorted(present)}"
        )


class _Rows:
    """Maps an index into the (possibly filtered) batch back to the data row it came from."""

    def __init__(self, batch: Batch) -> None:
        self.first_row = batch.first_row
        self.kept: pa.Array | None = None

    def number(self, index: int) -> int:
        original = index if self.kept is None else self.kept[index].as_py()
        return self.first_row + original + 1


def batch_records(batch: Batch, ctx: RowContext, stats: InventoryStats) -> Iterator[ObjectRecord]:
    table = batch.table
    stats.batches += 1
    stats.rows_read += table.num_rows
    stats.max_batch_rows = max(stats.max_batch_rows, table.num_rows)
    rows = _Rows(batch)
    keys = _keys(table.column(ctx.rules.key), ctx, rows)
    keep = _keep_mask(table, keys, ctx, stats, rows)
    if keep is not None:
        table, keys = table.filter(keep), keys.filter(keep)
        rows.kept = pc.indices_nonzero(keep)
    if ctx.rules.key_has_container:
        keys = pc.utf8_slice_codeunits(keys, start=len(ctx.bucket or "") + 1)
    sizes = _sizes(table.column(ctx.rules.size), ctx, rows)
    modified = _modified(_column(table, ctx.rules.modified), ctx, rows, table.num_rows)
    etags = _etags(_column(table, ctx.rules.etag), table.num_rows)
    url = ctx.object_url
    stats.rows_yielded += table.num_rows
    for key, size, etag, when in zip(keys.to_pylist(), sizes, etags, modified, strict=True):
        yield ObjectRecord(url(key), key, size, etag, when)


def _column(table: pa.RecordBatch, name: str | None) -> pa.Array | None:
    if name is None or name not in table.schema.names:
        return None
    return table.column(name)


def _as_text(column: pa.Array, what: str, ctx: RowContext, rows: _Rows) -> pa.Array:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
        raise InventoryError(ctx.uri, f"the {what} column holds {column.type}, not text")
    try:
        return column.cast(pa.string())
    except pa.ArrowInvalid:
        for index, value in enumerate(column.to_pylist()):
            if value is not None:
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise InventoryError(
                        ctx.uri, f"the {what} is not UTF-8: {value!r:.120}", row=rows.number(index)
                    ) from err
        raise


def _keys(column: pa.Array, ctx: RowContext, rows: _Rows) -> pa.Array:
    keys = _as_text(column, "object key", ctx, rows)
    if keys.null_count or pc.any(pc.equal(keys, "")).as_py():
        index = pc.indices_nonzero(pc.fill_null(pc.equal(keys, ""), True))[0].as_py()
        raise InventoryError(ctx.uri, "the object key is empty", row=rows.number(index))
    if not ctx.url_encoded_keys:
        return keys
    decoded: list[str] = []
    for index, encoded in enumerate(keys.to_pylist()):
        try:
            decoded.append(decode_form_key(encoded))
        except ValueError as err:
            raise InventoryError(
                ctx.uri, f"the object key is not URL-encoded properly: {err}", row=rows.number(index)
            ) from err
    return pa.array(decoded, pa.string())


def _flag(column: pa.Array, name: str, ctx: RowContext, rows: _Rows) -> pa.Array:
    """A boolean column (CSV: `true`/`false` in any case; missing values stay missing)."""
    if pa.types.is_boolean(column.type):
        return column
    text = pc.utf8_lower(_as_text(column, name, ctx, rows))
    valid = pc.or_(pc.is_null(text), pc.is_in(text, value_set=_BOOLEAN_TEXT))
    if not pc.all(valid).as_py():
        index = pc.indices_nonzero(pc.invert(valid))[0].as_py()
        value = column[index].as_py()
        raise InventoryError(
            ctx.uri, f"{name} must be true or false, got {value!r:.80}", row=rows.number(index)
        )
    return pc.equal(text, "true")


def _drop_masks(
    table: pa.RecordBatch, keys: pa.Array, ctx: RowContext, rows: _Rows
) -> Iterator[tuple[str, pa.Array]]:
    """(reason, rows to drop for it), in the order reasons are counted. Missing values drop nothing."""
    rules = ctx.rules
    bucket = _column(table, rules.bucket)
    if bucket is not None and ctx.bucket:
        yield "other_bucket", pc.not_equal(_as_text(bucket, "bucket", ctx, rows), ctx.bucket)
    full_prefix = ctx.prefix
    if rules.key_has_container:
        full_prefix = f"{ctx.bucket}/{ctx.prefix}"
        yield "other_container", pc.invert(pc.starts_with(keys, pattern=f"{ctx.bucket}/"))
    for name, reason in rules.skip_if_true:
        if (column := _column(table, name)) is not None:
            yield reason, _flag(column, name, ctx, rows)
    for name, reason in rules.skip_if_false:
        if (column := _column(table, name)) is not None:
            yield reason, pc.invert(_flag(column, name, ctx, rows))
    for name, reason in rules.skip_if_set:
        if (column := _column(table, name)) is not None:
            is_set = pc.is_valid(column)
            if pa.types.is_string(column.type):
                is_set = pc.and_(is_set, pc.not_equal(column, ""))
            yield reason, is_set
    if ctx.prefix:
        yield "outside_prefix", pc.invert(pc.starts_with(keys, pattern=full_prefix))


def _keep_mask(
    table: pa.RecordBatch, keys: pa.Array, ctx: RowContext, stats: InventoryStats, rows: _Rows
) -> pa.Array | None:
    """The rows that are live objects under the prefix (None: all of them); dropped rows are counted under
    the first reason that applies."""
    keep: pa.Array | None = None
    for reason, drop in _drop_masks(table, keys, ctx, rows):
        drop = pc.fill_null(drop, False)
        hits = drop if keep is None else pc.and_(keep, drop)
        count = pc.sum(hits).as_py() or 0
        if count:
            stats.skipped[reason] += count
        stays = pc.invert(drop)
        keep = stays if keep is None else pc.and_(keep, stays)
    return keep


def _first_failure(values: list[Any], convert: Callable[[Any], object]) -> tuple[int, Any] | None:
    for index, value in enumerate(values):
        try:
            convert(value)
        except (TypeError, ValueError, OverflowError):
            return index, value
    return None


def _sizes(column: pa.Array, ctx: RowContext, rows: _Rows) -> list[int]:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            column = column.cast(pa.int64())
        except pa.ArrowInvalid:
            found = _first_failure(column.to_pylist(), lambda v: v is None or int(v))
            index, value = found or (0, None)
            raise InventoryError(
                ctx.uri, f"size {value!r:.80} is not a byte count", row=rows.number(index)
            ) from None
    elif pa.types.is_integer(column.type):
        column = column.cast(pa.int64())
    else:
        raise InventoryError(ctx.uri, f"the size column holds {column.type}, not integers")
    if column.null_count:
        index = pc.indices_nonzero(pc.is_null(column))[0].as_py()
        raise InventoryError(ctx.uri, "the size is missing", row=rows.number(index))
    negative = pc.less(column, 0)
    if pc.any(negative).as_py():
        index = pc.indices_nonzero(negative)[0].as_py()
        raise InventoryError(ctx.uri, f"size {column[index].as_py()} is negative", row=rows.number(index))
    sizes: list[int] = column.to_pylist()
    return sizes


def parse_time(text: str) -> datetime:
    """ISO 8601 / RFC 3339 (any number of fraction digits) or RFC 1123 (`Wed, 26 May 2021 13:25:36 GMT`);
    a time without a zone is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = parsedate_to_datetime(text)  # raises ValueError/TypeError for anything else
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _modified(column: pa.Array | None, ctx: RowContext, rows: _Rows, count: int) -> Iterable[datetime]:
    if column is None:
        return itertools.repeat(ctx.default_modified, count)
    if column.null_count:
        index = pc.indices_nonzero(pc.is_null(column))[0].as_py()
        raise InventoryError(ctx.uri, "the last-modified time is missing", row=rows.number(index))
    if pa.types.is_timestamp(column.type):  # a time without a zone is UTC
        return _datetimes(pc.cast(column, pa.timestamp("us"), safe=False))
    if pa.types.is_integer(column.type):  # milliseconds since the epoch
        return _datetimes(column.cast(pa.int64()).cast(pa.timestamp("ms")).cast(pa.timestamp("us")))
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise InventoryError(ctx.uri, f"the last-modified column holds {column.type}, not times")
    try:
        return _datetimes(column.cast(_MICROS_UTC).cast(pa.timestamp("us")))
    except pa.ArrowInvalid:
        pass
    times: list[datetime] = []
    for index, text in enumerate(column.to_pylist()):
        try:
            times.append(parse_time(text))
        except (TypeError, ValueError) as err:
            raise InventoryError(
                ctx.uri, f"last-modified time {text!r:.80} is not a time", row=rows.number(index)
            ) from err
    return times


def _datetimes(micros: pa.Array) -> list[datetime]:
    """UTC datetimes from a zone-less microsecond timestamp column (pyarrow's own conversion to aware
    datetimes costs several times more)."""
    return [_EPOCH + timedelta(microseconds=value) for value in micros.cast(pa.int64()).to_pylist()]


def _etags(column: pa.Array | None, count: int) -> Iterable[str]:
    if column is None:
        return itertools.repeat("", count)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    return pc.utf8_trim(pc.fill_null(column, ""), characters='"').to_pylist()  # type: ignore[no-any-return]
