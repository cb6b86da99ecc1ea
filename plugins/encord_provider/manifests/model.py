"""One manifest entry in the making: its type, title, source objects and metadata blocks."""

from __future__ import annotations

from typing import Any

from encord_provider.manifests.datatypes import DataType
from encord_provider.storage.records import ObjectRecord


class Entry:
    """A single-object entry (one record) or a multi-object one (image group / sequence / DICOM series)."""

    __slots__ = ("data_type", "title", "objects", "sidecar_keys", "client_metadata", "media_metadata")

    def __init__(
        self,
        data_type: DataType,
        title: str,
        objects: list[ObjectRecord],
        sidecar_keys: list[str] | None = None,
        client_metadata: dict[str, Any] | None = None,
        media_metadata: dict[str, Any] | None = None,
    ) -> None:
        self.data_type = data_type
        self.title = title
        self.objects = objects
        self.sidecar_keys = sidecar_keys
        self.client_metadata = client_metadata
        self.media_metadata = media_metadata

    @property
    def media_bytes(self) -> int:
        return sum(record.size for record in self.objects)

    def __repr__(self) -> str:
        return f"Entry({self.data_type}, {self.title!r}, {len(self.objects)} objects)"


class Candidate:
    """One classified object on its way to grouping, with its sidecar key when one was listed."""

    __slots__ = ("record", "kind", "sidecar_key", "client_metadata", "media_metadata")

    def __init__(self, record: ObjectRecord, kind: DataType, sidecar_key: str | None = None) -> None:
        self.record = record
        self.kind = kind
        self.sidecar_key = sidecar_key
        self.client_metadata: dict[str, Any] | None = None
        self.media_metadata: dict[str, Any] | None = None
