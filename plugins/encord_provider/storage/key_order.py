"""The order in which a backend lists keys: a property of the backend, not of Python's `str`.

S3, GCS and local directories list keys by UTF-8 bytes, which is Python's code point order. Azure Blob
Storage (and Azurite) compare UTF-16 code units, so a key with a character above U+FFFF (a surrogate
pair, e.g. 😀 U+1F600) sorts *before* one with a character in U+E000..U+FFFF (e.g. （ U+FF08). Code that
checks or merges listings in key order compares `store.key_order(key)` values, never bare keys.

Both orders are lexicographic over a prefix-preserving encoding, so in either one the keys that share a
prefix are contiguous and a prefix sorts before its extensions (what streaming grouping relies on).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

KeyOrder = Callable[[str], Any]


def code_point_order(key: str) -> str:
    """S3, GCS, local: the key itself (code point order equals UTF-8 byte order)."""
    return key


def utf16_order(key: str) -> bytes:
    """Azure Blob: big-endian UTF-16 bytes compare exactly as UTF-16 code units do."""
    return key.encode("utf-16-be", "surrogatepass")


def key_order_of(store: object | None) -> KeyOrder:
    """The `key_order` of `store`; code point order for stand-ins that do not declare one."""
    order = getattr(store, "key_order", None)
    return order if callable(order) else code_point_order
