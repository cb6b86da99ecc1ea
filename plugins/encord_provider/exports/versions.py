"""Layout of versions in the warehouse bucket and how a reader finds the complete ones.

    <prefix>/<project>/<version>/labels-00000.jsonl, coco.json, labels.parquet, source_rows.csv,
                                 membership.csv.gz, left_rows.csv, manifest.json, _SUCCESS (written last)
    <prefix>/<project>/latest    {"version": ..., "number": ..., "manifest": <key>}

A version counts only once its `_SUCCESS` marker exists; folders without it (a crashed export) are ignored.
The `latest` pointer is a convenience for readers; writers trust the markers, so a crash between `_SUCCESS`
and `latest` loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from encord_provider.exports.model import ExportError, Manifest
from encord_provider.storage.base import ObjectStore

SUCCESS = "_SUCCESS"
MANIFEST = "manifest.json"
LATEST = "latest"


def join_key(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


@dataclass(frozen=True, slots=True)
class VersionMarker:
    """The body of a `_SUCCESS` marker."""

    version: str
    number: int
    run_key: str | None
    manifest_sha256: str

    def to_bytes(self) -> bytes:
        body = {
            "version": self.version,
            "number": self.number,
            "run_key": self.run_key,
            "manifest_sha256": self.manifest_sha256,
        }
        return json.dumps(body, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes, key: str) -> VersionMarker:
        try:
            body: dict[str, Any] = json.loads(data)
            return cls(
                str(body["version"]), int(body["number"]), body.get("run_key"), str(body["manifest_sha256"])
            )
        except (ValueError, KeyError, TypeError) as err:
            raise ExportError(f"{key}: unreadable _SUCCESS marker ({err})") from err


class VersionLayout:
    """Keys of one project's versions inside a store."""

    def __init__(self, store: ObjectStore, base_prefix: str, project: str) -> None:
        self.store = store
        self.project_prefix = join_key(base_prefix, project)

    def version_prefix(self, version: str) -> str:
        return join_key(self.project_prefix, version)

    def key(self, version: str, name: str) -> str:
        return join_key(self.project_prefix, version, name)

    @property
    def latest_key(self) -> str:
        return join_key(self.project_prefix, LATEST)

    def markers(self) -> list[VersionMarker]:
        """Every complete version, oldest first."""
        found = []
        for record in self.store.list_objects(prefix=self.project_prefix + "/"):
            if record.key.endswith("/" + SUCCESS):
                found.append(VersionMarker.from_bytes(self.store.read_bytes(record.key), record.key))
        return sorted(found, key=lambda m: m.number)

    def read_manifest(self, version: str) -> Manifest:
        key = self.key(version, MANIFEST)
        try:
            return Manifest.model_validate_json(self.store.read_bytes(key))
        except ValueError as err:
            raise ExportError(f"{self.store.uri(key)}: invalid manifest ({err})") from err

    def latest_manifest(self) -> Manifest | None:
        markers = self.markers()
        return self.read_manifest(markers[-1].version) if markers else None

    def write_latest(self, manifest: Manifest) -> None:
        pointer = {
            "version": manifest.version,
            "number": manifest.number,
            "kind": manifest.kind,
            "manifest": self.key(manifest.version, MANIFEST),
            "uri": self.store.uri(self.version_prefix(manifest.version)),
        }
        self.store.write_bytes(self.latest_key, json.dumps(pointer, indent=2).encode(), "application/json")

    def read_latest_pointer(self) -> dict[str, Any] | None:
        if not self.store.exists(self.latest_key):
            return None
        pointer: dict[str, Any] = json.loads(self.store.read_bytes(self.latest_key))
        return pointer
