"""Small helpers shared by handler modules: ids, timestamps, paging, query-param parsing."""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from encord_emulator.core.errors import invalid_arguments

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
    rows: list[dict[str, Any]],
    sort_key: str,
    page_size: int,
    page_token: str | None,
    desc: bool = False,
    id_key: str = "uuid",
) -> dict[str, Any]:
    """One page of ``rows`` ordered by ``(row[sort_key], row[id_key])`` after the token's cursor.

    A keyset cursor (not an offset) keeps paging stable while rows are added or removed.
    """

    def position(row: dict[str, Any]) -> tuple[str, str]:
        return (str(row.get(sort_key) or ""), str(row[id_key]))

    ordered = sorted(rows, key=position, reverse=desc)
    cursor = decode_page_token(page_token)
    if cursor:
        after = (str(cursor["k"]), str(cursor["u"]))
        ordered = [row for row in ordered if (position(row) < after if desc else position(row) > after)]
    page = ordered[:page_size]
    token = None
    if len(ordered) > page_size:
        last_key, last_id = position(page[-1])
        token = encode_page_token({"k": last_key, "u": last_id})
    return {"results": page, "nextPageToken": token}


def page_cursor(page_token: str | None) -> tuple[str, str] | None:
    """The ``(sort key, id)`` after which a ``keyset_page`` token resumes (None: from the start)."""
    cursor = decode_page_token(page_token)
    if not cursor:
        return None
    try:
        return (str(cursor["k"]), str(cursor["u"]))
    except KeyError:
        raise invalid_arguments(f"invalid pageToken {page_token!r}") from None


def ordered_page(
    ordered: Iterable[dict[str, Any]],
    sort_key: str,
    page_size: int,
    keep: Callable[[dict[str, Any]], bool] = lambda row: True,
    id_key: str = "uuid",
) -> dict[str, Any]:
    """Like ``keyset_page`` for rows that already arrive in cursor order after the token (``Store.scan``):
    reads only until ``page_size`` rows pass ``keep`` plus one to know whether a next page exists."""
    matching: Iterator[dict[str, Any]] = (row for row in ordered if keep(row))
    page: list[dict[str, Any]] = []
    for row in matching:
        if len(page) == page_size:
            last = page[-1]
            token = encode_page_token({"k": str(last.get(sort_key) or ""), "u": str(last[id_key])})
            return {"results": page, "nextPageToken": token}
        page.append(row)
    return {"results": page, "nextPageToken": None}


# ---------------------------------------------------------------- listing filters (datasets, ontologies, projects)

# (equals param, SQL LIKE param, document field)
TITLE_DESC_FILTERS = (("titleEq", "titleLike", "title"), ("descEq", "descLike", "description"))
# (param, document field, True = strictly after the bound / False = strictly before)
TIME_FILTERS = (
    ("createdBefore", "created_at", False), ("createdAfter", "created_at", True),
    ("editedBefore", "last_edited_at", False), ("editedAfter", "last_edited_at", True),
)  # fmt: skip


def aware_time(text: str) -> datetime:
    """An ISO 8601 time; naive means UTC (as the SDK assumes)."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def sql_like(pattern: str, value: str) -> bool:
    """SQL ``ILIKE``: ``%`` any run, ``_`` one character, case-insensitive."""
    glob = fnmatch.translate(
        pattern.replace("*", "[*]").replace("?", "[?]").replace("%", "*").replace("_", "?")
    )
    return re.match(glob, value, re.IGNORECASE) is not None


def filter_listing(
    docs: list[dict[str, Any]],
    params: Mapping[str, str],
    text_filters: Sequence[tuple[str, str, str]] = TITLE_DESC_FILTERS,
) -> list[dict[str, Any]]:
    """Apply the SDK's listing filters (``title_eq``, ``title_like``, ``created_before``, ...) to ``docs``."""
    for eq_param, like_param, field in text_filters:
        if params.get(eq_param) is not None:
            docs = [d for d in docs if (d.get(field) or "") == params[eq_param]]
        if params.get(like_param) is not None:
            docs = [d for d in docs if sql_like(str(params[like_param]), d.get(field) or "")]
    for param, field, after in TIME_FILTERS:
        if params.get(param) is not None:
            bound = _time_param(param, str(params[param]))
            docs = [d for d in docs if _on_side(aware_time(d.get(field) or d["created_at"]), bound, after)]
    return docs


def _time_param(name: str, text: str) -> datetime:
    try:
        return aware_time(text)
    except ValueError:
        raise invalid_arguments(f"{name}: not an ISO 8601 time: {text!r}") from None


def _on_side(value: datetime, bound: datetime, after: bool) -> bool:
    return value > bound if after else value < bound
