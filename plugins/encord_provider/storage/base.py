"""The one interface every storage backend implements (S3 and S3-compatible, GCS, Azure Blob)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Protocol

from encord_provider.storage.records import ObjectRecord


class ObjectStore(Protocol):
    """A bucket (or container) seen through one backend.

    `list_objects` streams small records page by page and never collects a whole listing in memory, in
    the backend's own key order; real backends declare it as `key_order` (see `storage.key_order`).
    """

    scheme: str  # "s3", "gs" or "az"
    bucket: str

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectRecord]: ...

    def read_bytes(self, key: str) -> bytes: ...

    def read_range(self, key: str, start: int, length: int) -> bytes: ...

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None: ...

    def write_file(self, key: str, path: str | os.PathLike[str], content_type: str | None = None) -> None:
        """Upload a local file by streaming it (in parts where the backend has them), never reading it whole."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove `key`; a key that does not exist is not an error (deleting is idempotent)."""
        ...

    def object_url(self, key: str) -> str:
        """The URL Encord expects for `key` in a registration manifest."""
        ...

    def uri(self, key: str) -> str:
        """A `scheme://bucket/key` URI, used to pass chunk files between tasks."""
        ...


class BrowsableStore(ObjectStore, Protocol):
    """A store that can also list one level under a delimiter and describe one object.

    Used by prefix-parallel listing. Kept apart from `ObjectStore` so stand-ins that only implement the
    core interface still satisfy it.
    """

    def list_level(self, prefix: str = "", delimiter: str = "/") -> Iterator[ObjectRecord | str]:
        """Objects directly under `prefix` (as records) and sub-prefixes (as `str`), in key order."""
        ...

    def stat(self, key: str) -> ObjectRecord:
        """The record of one object; raises ObjectNotFoundError if it does not exist."""
        ...


def check_range(start: int, length: int) -> None:
    """The argument check every `read_range` shares."""
    if start < 0 or length < 0:
        raise ValueError(f"start and length must not be negative, got {start}, {length}")
