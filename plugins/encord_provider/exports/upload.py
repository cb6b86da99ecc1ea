"""Upload a local file to an ObjectStore, streaming when the backend can."""

from __future__ import annotations

from pathlib import Path

from encord_provider.storage.base import ObjectStore


def upload_file(store: ObjectStore, key: str, path: Path, content_type: str | None = None) -> None:
    """Use the store's `write_file(key, path, content_type)` when it has one (multipart, bounded memory);
    otherwise fall back to `write_bytes`, which holds the whole file in memory once."""
    write_file = getattr(store, "write_file", None)
    if callable(write_file):
        write_file(key, path, content_type)
        return
    store.write_bytes(key, path.read_bytes(), content_type)
