"""Encord-hosted storage: the bytes the SDK's ``StorageFolder.upload_*`` calls PUT to a signed URL.

Real Encord hands out signed URLs into its own bucket; the emulator plays that bucket itself. Objects live
under ``<data dir>/hosted/<object key>``; a signed URL is ``<emulator>/encord-hosted/<key>?method=..&
expires=..&signature=..``, an HMAC over the method, key and expiry with a key kept in the data dir, so URLs
survive a restart and a URL for one key or method opens no other.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

STORAGE_LOCATION = "encord"  # the v2 StorageItem ``storageLocation`` of Encord-hosted items
ROUTE = "/encord-hosted"


class SignatureError(ValueError):
    """The signed URL is expired, forged, or for another key or method."""


class HostedBlobs:
    """The emulator's Encord-hosted bucket on disk."""

    def __init__(self, data_dir: Path) -> None:
        self.root = (Path(data_dir) / "hosted").resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._key = self._signing_key()

    def _signing_key(self) -> bytes:
        path = self.root / ".signing-key"
        if not path.exists():
            path.write_bytes(secrets.token_bytes(32))
        return path.read_bytes()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise SignatureError(f"object key {key!r} leaves the hosted bucket")
        return path

    # -- signed URLs -------------------------------------------------------------------------

    def _signature(self, method: str, key: str, expires: int) -> str:
        message = f"{method}\n{key}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def signed_url(self, base_url: str, key: str, method: str = "GET", expires_seconds: int = 3600) -> str:
        expires = int(time.time()) + expires_seconds
        query = urllib.parse.urlencode(
            {"method": method, "expires": expires, "signature": self._signature(method, key, expires)}
        )
        return f"{base_url.rstrip('/')}{ROUTE}/{urllib.parse.quote(key)}?{query}"

    def check(self, key: str, method: str, expires: str | None, signature: str | None) -> None:
        """Raise SignatureError unless the query authorises `method` on `key` now."""
        if not expires or not signature or not expires.isdigit():
            raise SignatureError("the URL is not signed")
        if int(expires) < time.time():
            raise SignatureError("the signed URL has expired")
        if not hmac.compare_digest(self._signature(method, key, int(expires)), signature):
            raise SignatureError(f"the signature does not allow {method} {key}")

    # -- objects -----------------------------------------------------------------------------

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the object (atomically: readers never see part of it); returns its size."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        size = 0
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    size += len(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size

    def size(self, key: str) -> int | None:
        """The object's size, or None when nothing was uploaded to `key`."""
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def read(self, key: str, length: int | None = None) -> bytes:
        with self._path(key).open("rb") as handle:
            return handle.read() if length is None else handle.read(length)

    def path(self, key: str) -> Path:
        return self._path(key)
