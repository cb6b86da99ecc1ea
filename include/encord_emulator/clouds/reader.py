"""``CloudReader``: one cached storage client per integration, and object access through its backend."""

from __future__ import annotations

import threading
from typing import Any

from encord_emulator.clouds import backend_for
from encord_emulator.clouds.base import ObjectInfo, ObjectLocation


class CloudReader:
    """Cached storage clients per integration; HEAD, range reads and downloadable URLs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def head(self, integration: dict[str, Any], loc: ObjectLocation) -> ObjectInfo | None:
        """Size and content type, or None if the object does not exist."""
        return backend_for(integration["provider"]).head(self._client(integration), loc)

    def read(self, integration: dict[str, Any], loc: ObjectLocation, length: int | None = None) -> bytes:
        """The first ``length`` bytes (all when None)."""
        return backend_for(integration["provider"]).read(self._client(integration), loc, length)

    def signed_url(
        self, integration: dict[str, Any], loc: ObjectLocation, expires_seconds: int = 3600
    ) -> str:
        """A URL a plain HTTP GET can download from the local stand-in."""
        backend = backend_for(integration["provider"])
        return backend.signed_url(self._client(integration), integration, loc, expires_seconds)

    def forget(self, integration_uuid: str) -> None:
        with self._lock:
            self._clients.pop(integration_uuid, None)

    def _client(self, integration: dict[str, Any]) -> Any:
        with self._lock:
            client = self._clients.get(integration["uuid"])
            if client is None:
                client = backend_for(integration["provider"]).make_client(integration)
                self._clients[integration["uuid"]] = client
            return client
