"""Object keys in S3 Inventory CSV files are URL-encoded the way HTML forms are: a space is `+`, every
other reserved or non-ASCII byte is `%XX` (so a literal `+` is `%2B`, a literal `%` is `%25`).
`unquote_plus` reverses that at ~5 µs a key, the largest single cost of reading a CSV inventory, so the
common case goes through the codec machinery instead; both paths give the same keys."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def decode_form_key(encoded: str) -> str:
    """The key `encoded` stands for, as `urllib.parse.unquote_plus` would give it for well-formed input.

    Raises ValueError for a `%` not followed by two hex digits, or escapes that are not UTF-8: such a key
    names no object, so it is reported instead of being guessed at.
    """
    if "%" not in encoded:
        return encoded.replace("+", " ")
    try:
        # `%XX` -> `\xXX` (backslashes already there doubled first), one character per byte, then UTF-8.
        escaped = encoded.replace("\\", "\\\\").replace("+", " ").replace("%", "\\x")
        return escaped.encode("ascii").decode("unicode_escape").encode("latin-1").decode("utf-8")
    except (UnicodeError, ValueError):
        return _decode_slowly(encoded)


def _decode_slowly(encoded: str) -> str:
    """The general case: raw non-ASCII characters are kept; malformed escapes raise ValueError."""
    stray = _STRAY_PERCENT.search(encoded)
    if stray:
        raise ValueError(f"malformed URL escape at character {stray.start() + 1} of {encoded!r}")
    try:
        return unquote_to_bytes(encoded.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"URL escapes in {encoded!r} are not UTF-8: {err.reason}") from err
