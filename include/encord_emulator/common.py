"""Small helpers shared by handler modules: ids, timestamps, paging, query-param parsing."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from encord_emulator.errors import invalid_arguments

MAX_PAGE_SIZE = 1000


def new_uuid() -> str:
    return str(uuid.uuid4())


def now_iso() -> str:
    """ISO 8601 with offset (v2 style)."""
    return datetime.now(UTC).isoformat()


def legacy_time(iso: str) -> str:
    """``%Y-%m-%d %H:%M:%S`` (legacy RPC style) from an ISO timestamp."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def parse_bool(value: str | None, default: bool = False) -> bool:
    """The SDK sends Python spellings (``True``/``False``)."""
    if value is None:
        return default
    return value.strip().lower() in ("true", "1", "yes")


def encode_page_token(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode("ascii")


def decode_page_token(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, UnicodeDecodeError):
        raise invalid_arguments(f"invalid pageToken {token!r}") from None
    if not isinstance(value, dict):
        raise invalid_arguments(f"invalid pageToken {token!r}")
    return value


def check_page_size(page_size: int) -> int:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise invalid_arguments(f"pageSize must be within 1..{MAX_PAGE_SIZE}, got {page_size}")
    return page_size


def keyset_page(
    rows: list[dict[str, Any]], sort_key: str, page_size: int, page_token: str | None, desc: bool = False
) -> dict[str, Any]:
    """One page of ``rows`` ordered by ``(row[sort_key], row['uuid'])`` after the token's cursor.

    A keyset cursor (not an offset) keeps paging stable while rows are added or removed.
    """
    ordered = sorted(rows, key=lambda row: (str(row.get(sort_key) or ""), str(row["uuid"])), reverse=desc)
    cursor = decode_page_token(page_token)
    if cursor:
        after = (str(cursor["k"]), str(cursor["u"]))
        ordered = [
            row
            for row in ordered
            if (
                (str(row.get(sort_key) or ""), str(row["uuid"])) < after
                if desc
                else (str(row.get(sort_key) or ""), str(row["uuid"])) > after
            )
        ]
    page = ordered[:page_size]
    token = None
    if len(ordered) > page_size:
        last = page[-1]
        token = encode_page_token({"k": str(last.get(sort_key) or ""), "u": str(last["uuid"])})
    return {"results": page, "nextPageToken": token}
