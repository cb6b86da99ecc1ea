"""Shared helpers for the export unit tests (no tests here): an in-memory ObjectStore and a crashing wrapper."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from encord_provider.storage.records import ObjectRecord


class MemoryStore:
    """A dict-backed bucket implementing the ObjectStore protocol."""

    scheme = "s3"

    def __init__(self, bucket: str = "warehouse") -> None:
        self.bucket = bucket
        self.objects: dict[str, bytes] = {}
        self.writes: list[str] = []

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectRecord]:
        for key in sorted(self.objects):
            if key.startswith(prefix) and (start_after is None or key > start_after):
                data = self.objects[key]
                yield ObjectRecord(self.uri(key), key, len(data), "", datetime.now(UTC))

    def read_bytes(self, key: str) -> bytes:
        return self.objects[key]

    def read_range(self, key: str, start: int, length: int) -> bytes:
        return self.objects[key][start : start + length]

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self.writes.append(key)
        self.objects[key] = bytes(data)

    def exists(self, key: str) -> bool:
        return key in self.objects

    def object_url(self, key: str) -> str:
        return self.uri(key)

    def uri(self, key: str) -> str:
        return f"{self.scheme}://{self.bucket}/{key}"

    def keys(self, suffix: str = "") -> list[str]:
        return sorted(k for k in self.objects if k.endswith(suffix))


class InjectedCrash(RuntimeError):
    pass


class CrashingStore(MemoryStore):
    """Raises on the first write whose key ends with `crash_on` (simulates a worker dying mid-export)."""

    def __init__(self, base: MemoryStore, crash_on: str) -> None:
        super().__init__(base.bucket)
        self.objects = base.objects
        self.crash_on = crash_on

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        if key.endswith(self.crash_on):
            raise InjectedCrash(f"injected failure writing {key}")
        super().write_bytes(key, data, content_type)
