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

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from encord_provider.errors import TransientError
from encord_provider.ledger.records import LedgerRecord, Watermark

FORMAT_VERSION = 2


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


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def encode_file(
    header: dict[str, Any], records: Iterable[LedgerRecord], watermark: Watermark | None = None
) -> bytes:
    lines = [_dumps({"header": {"v": FORMAT_VERSION, **header}})]
    lines += [_dumps(record.to_json()) for record in records]
    if watermark is not None:
        lines.append(_dumps({"watermark": watermark.to_json()}))
    lines.append(_dumps({"end": {"lines": len(lines)}}))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _parse_line(raw: bytes) -> tuple[str, Any]:
    """("header" | "record" | "watermark" | "end", value); ValueError if the line is not one of them."""
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        if "header" in data:
            return "header", dict(data["header"])
        if "end" in data:
            return "end", int(data["end"]["lines"])
        if "watermark" in data:
            return "watermark", Watermark.from_json(data["watermark"])
        return "record", LedgerRecord.from_json(data)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(str(err) or type(err).__name__) from err


def decode_file(data: bytes, uri: str) -> LedgerFile:
    """The whole file, or TornFileError / CorruptFileError (see the module doc for which is which)."""
    *lines, tail = data.split(b"\n")  # `tail` is what follows the last newline: empty for an intact file
    if tail.strip():
        raise TornFileError(uri, len(lines) + 1, "last line has no newline (the write was cut short)")
    parsed: list[tuple[str, Any]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue  # format 1 tolerated blank lines
        try:
            parsed.append(_parse_line(raw))
        except ValueError as err:
            if number == len(lines):
                raise TornFileError(uri, number, f"last line does not parse ({err})") from err
            raise CorruptFileError(uri, number, f"line does not parse ({err})") from err
    return _assemble(parsed, uri)


def _assemble(parsed: list[tuple[str, Any]], uri: str) -> LedgerFile:
    if not parsed:
        raise TornFileError(uri, None, "empty file")
    kind, header = parsed[0]
    if kind != "header":
        raise CorruptFileError(uri, 1, "first line is not a header")
    version = int(header.get("v", 1))
    body = parsed[1:]
    if version >= 2:
        ends = [number for number, (kind, _) in enumerate(parsed, start=1) if kind == "end"]
        if ends and ends[0] != len(parsed):
            raise CorruptFileError(uri, ends[0] + 1, "lines after the end line")
        if not body or body[-1][0] != "end":
            raise TornFileError(uri, len(parsed), "the end line is missing (the file was cut short)")
        if body[-1][1] != len(parsed) - 1:
            raise CorruptFileError(
                uri, len(parsed), f"end line counts {body[-1][1]} lines, found {len(parsed) - 1}"
            )
        body = body[:-1]
    file = LedgerFile(header)
    for number, (kind, value) in enumerate(body, start=2):
        if kind == "record":
            file.records.append(value)
        elif kind == "watermark":
            file.watermark = value
        else:
            raise CorruptFileError(uri, number, f"unexpected {kind} line")
    return file


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
