"""``gcp`` backend on fake-gcs-server (google-cloud-storage with anonymous credentials)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from encord_emulator.clouds.base import NoArnUrls, ObjectInfo, ObjectLocation, path_style

_GCS_HOSTS = ("storage.cloud.google.com", "storage.googleapis.com")


class GcsBackend(NoArnUrls):
    provider = "gcp"
    storage_location = "gcp"
    uri_scheme = "gs"

    def host_location(self, host: str, path: str, integration: dict[str, Any]) -> ObjectLocation | None:
        return path_style(path, host) if host in _GCS_HOSTS else None

    def integration_fields(self, entry: dict[str, Any]) -> dict[str, Any]:
        return dict(entry)

    def make_client(self, integration: dict[str, Any]) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        endpoint = integration.get("endpoint_url")
        return storage.Client(
            project=integration.get("project") or "test-project",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": endpoint} if endpoint else None,
        )

    def head(self, client: Any, loc: ObjectLocation) -> ObjectInfo | None:
        blob = client.bucket(loc.bucket).get_blob(loc.key)
        return None if blob is None else ObjectInfo(int(blob.size or 0), blob.content_type)

    def read(self, client: Any, loc: ObjectLocation, length: int | None) -> bytes:
        blob = client.bucket(loc.bucket).blob(loc.key)
        return bytes(blob.download_as_bytes(start=0, end=length - 1 if length else None))

    def signed_url(self, client: Any, integration: dict[str, Any], loc: ObjectLocation, expires: int) -> str:
        endpoint = str(integration["endpoint_url"]).rstrip("/")
        quoted = urllib.parse.quote(loc.key, safe="")
        return f"{endpoint}/download/storage/v1/b/{loc.bucket}/o/{quoted}?alt=media"
