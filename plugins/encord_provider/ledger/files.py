"""One ledger file (segment or snapshot) as bytes: how it is written, and how a damaged one is told apart.

A file is JSON lines, each ending in a newline:

    {"header": {"v": 2, "kind": "segment" | "snapshot", "lamport": N, ...}}
    {record}                          one per object (see records.py)
    {"watermark": {...}}              optional
    {"end": {"lines": N}}             N = the lines before this one

Reading a file gives all of it or nothing (a file is one batch; a batch is applied whole or not at all):

- **torn**: the file stops early. Its last line has no newline, or does not parse, or (format 2) the
  `end` line is missing. That is what a crash mid-write or a truncated copy leaves. `TornFileError`.
- **corrupt**: a line that does not parse is followed by more lines, or the `end` count does not match.
  No truncation does that; something rewrote the file. `CorruptFileError`, naming the line.

The caller (reader.py) skips either kind with a warning naming the file: the batch is lost as a whole,
and because every state a batch records can be recomputed from Encord (job results, folder items by URL,
`skip_duplicate_urls`), its objects are simply retried. Files of format 1 have no `end` line; for them
only the first rule can tell a tear.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from encord_provider.errors import TransientError
from encord_provider.ledger.records import OPTIONAL_TEXT, LedgerRecord, RecordRow, Watermark, row_of_json
from encord_provider.storage.base import ObjectStore

FORMAT_VERSION = 2
ROW_BATCH = 10_000  # records handed to the table at a time while a file streams in
SPILL_BYTES = 8 * 1024 * 1024  # files larger than this are written through a local temporary file


class LedgerCorruptError(TransientError, RuntimeError):
    """A ledger file cannot be read (names the file and, where known, the line)."""

    kind = "corrupt"

    def __init__(self, uri: str, line: int | None, reason: str) -> None:
        where = f"{uri}:{line}" if line else uri
        super().__init__(f"{where}: {reason}")
        self.uri = uri
        self.line = line
        self.reason = reason


class TornFileError(LedgerCorruptError):
    """The file stops early: a crash mid-write or a truncated object."""

    kind = "torn"


class CorruptFileError(LedgerCorruptError):
    """The file was damaged inside, not just cut short."""


@dataclass
class LedgerFile:
    header: dict[str, Any]
    records: list[LedgerRecord] = field(default_factory=list)
    watermark: Watermark | None = None


def _line(obj: dict[str, Any]) -> bytes:
    """One line: compact UTF-8 JSON (orjson, a dependency of the encord SDK, is ~5x faster than json;
    json is the fallback for what orjson refuses, e.g. a lone surrogate)."""
    try:
        return orjson.dumps(obj) + b"\n"
    except (TypeError, orjson.JSONEncodeError):
        return (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode(
            "utf-8", "surrogatepass"
        )


def row_json(row: RecordRow) -> dict[str, Any]:
    """A record line from a table row: the same fields as `LedgerRecord.to_json`, without the object."""
    data: dict[str, Any] = {"key": row[0], "etag": row[1], "state": row[2]}
    for name, value in zip(OPTIONAL_TEXT, row[3:8], strict=True):
        if value is not None:
            data[name] = value
    if row[8]:
        data["attempts"] = row[8]
    data["updated_at"] = row[9]
    return data


def encode_lines(
    header: dict[str, Any], rows: Iterable[RecordRow], watermark: Watermark | None = None
) -> Iterator[bytes]:
    """The lines of a file (each ending in a newline), produced one at a time."""
    count = 1
    yield _line({"header": {"v": FORMAT_VERSION, **header}})
    for row in rows:
        count += 1
        yield _line(row_json(row))
    if watermark is not None:
        count += 1
        yield _line({"watermark": watermark.to_json()})
    yield _line({"end": {"lines": count}})


def encode_file(
    header: dict[str, Any], records: Iterable[LedgerRecord], watermark: Watermark | None = None
) -> bytes:
    return b"".join(encode_lines(header, (r.to_row() for r in records), watermark))


def write_file(
    store: ObjectStore, key: str, header: dict[str, Any], rows: Iterable[RecordRow],
    watermark: Watermark | None = None, through: Callable[[Iterator[bytes]], Iterator[bytes]] | None = None,
) -> None:  # fmt: skip
    """Write a ledger file with one PUT, streaming it through a local file once it outgrows memory;
    `through` sees every line on its way (the snapshot index builder)."""
    content_type = "application/x-ndjson"
    buffer = io.BytesIO()
    lines = encode_lines(header, rows, watermark)
    lines = through(lines) if through is not None else lines
    for line in lines:
        buffer.write(line)
        if buffer.tell() >= SPILL_BYTES:
            break
    else:
        store.write_bytes(key, buffer.getvalue(), content_type)
        return
    with tempfile.NamedTemporaryFile(prefix="ledger-", suffix=".jsonl") as spill:
        spill.write(buffer.getbuffer())
        del buffer
        spill.writelines(lines)
        spill.flush()
        store.write_file(key, spill.name, content_type)


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:  # e.g. an escaped lone surrogate, which json accepts
        return json.loads(raw)


def _parse_line(raw: bytes) -> tuple[str, Any]:
    """("header" | "record" | "watermark" | "end", value); ValueError if the line is not one of them.
    A record comes back as a row (see `records.row_of_json`)."""
    try:
        data = _loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        if "header" in data:
            return "header", dict(data["header"])
        if "end" in data:
            return "end", int(data["end"]["lines"])
        if "watermark" in data:
            return "watermark", Watermark.from_json(data["watermark"])
        return "record", row_of_json(data)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(str(err) or type(err).__name__) from err


def split_lines(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Complete lines (without their newline) from consecutive pieces of a file; what follows the last
    newline is yielded last (empty for an intact file)."""
    rest = b""
    for piece in pieces:
        *lines, rest = (rest + piece).split(b"\n")
        yield from lines
    yield rest


@dataclass
class _Decoding:
    """The state of one streamed decode (see `decode_stream`)."""

    uri: str
    on_rows: Callable[[list[RecordRow]], None]
    header: dict[str, Any] | None = None
    watermark: Watermark | None = None
    parsed: int = 0  # non-blank lines parsed
    end: int | None = None  # the parsed index of the `end` line
    end_count: int = -1  # the count it carries
    error: tuple[int, str] | None = None  # the first line that did not parse
    error_followed: bool = False  # more lines came after it (corrupt, not torn)
    rows: list[RecordRow] = field(default_factory=list)

    def feed(self, number: int, raw: bytes) -> None:
        if self.error is not None:
            self.error_followed = True
            return
        try:
            kind, value = _parse_line(raw)
        except ValueError as err:
            self.error = (number, str(err))
            return
        self.parsed += 1
        if self.parsed == 1:
            if kind != "header":
                raise CorruptFileError(self.uri, 1, "first line is not a header")
            self.header = value
        elif self.end is not None:
            raise CorruptFileError(self.uri, self.end + 1, "lines after the end line")
        elif kind == "end" and self.version >= 2:
            self.end, self.end_count = self.parsed, value
        elif kind == "record":
            self.rows.append(value)
            if len(self.rows) >= ROW_BATCH:
                self.flush()
        elif kind == "watermark":
            self.watermark = value
        else:
            raise CorruptFileError(self.uri, self.parsed, f"unexpected {kind} line")

    @property
    def version(self) -> int:
        return int((self.header or {}).get("v", 1))

    def flush(self) -> None:
        if self.rows:
            self.on_rows(self.rows)
            self.rows = []

    def finish(self) -> dict[str, Any]:
        if self.error is not None:
            number, reason = self.error
            if self.error_followed:
                raise CorruptFileError(self.uri, number, f"line does not parse ({reason})")
            raise TornFileError(self.uri, number, f"last line does not parse ({reason})")
        if self.header is None:
            raise TornFileError(self.uri, None, "empty file")
        if self.version >= 2:
            if self.end is None:
                raise TornFileError(self.uri, self.parsed, "the end line is missing (the file was cut short)")
            if self.end_count != self.parsed - 1:
                raise CorruptFileError(
                    self.uri, self.parsed, f"end line counts {self.end_count} lines, found {self.parsed - 1}"
                )
        self.flush()
        return self.header


def decode_stream(
    pieces: Iterable[bytes], uri: str, on_rows: Callable[[list[RecordRow]], None]
) -> tuple[dict[str, Any], Watermark | None]:
    """Check a file as it streams by, handing its records to `on_rows` in batches; returns its header and
    watermark. Raises TornFileError / CorruptFileError (see the module doc) *after* handing over rows, so
    the caller applies them in a transaction it rolls back on error (a file counts whole or not at all)."""
    decoding = _Decoding(uri, on_rows)
    number, tail = 0, b""
    for number, raw in enumerate(split_lines(pieces), start=1):
        if tail:
            decoding.feed(number - 1, tail)
        tail = raw
        if not raw.strip():
            tail = b""
    if tail.strip():  # what followed the last newline, or the last line (fed below)
        raise TornFileError(uri, number, "last line has no newline (the write was cut short)")
    return decoding.finish(), decoding.watermark


def decode_file(data: bytes, uri: str) -> LedgerFile:
    """The whole file, or TornFileError / CorruptFileError (see the module doc for which is which)."""
    rows: list[RecordRow] = []
    header, watermark = decode_stream([data], uri, rows.extend)
    return LedgerFile(header, [LedgerRecord.from_row(r) for r in rows], watermark)


def decode_header(first_bytes: bytes, uri: str) -> dict[str, Any]:
    """The header of a file from its first bytes (enough to hold the first line)."""
    line, newline, _ = first_bytes.partition(b"\n")
    if not newline:
        raise TornFileError(uri, 1, "no complete first line")
    try:
        kind, header = _parse_line(line)
    except ValueError as err:
        raise CorruptFileError(uri, 1, f"first line does not parse ({err})") from err
    if kind != "header":
        raise CorruptFileError(uri, 1, "first line is not a header")
    return dict(header)
