"""The one interface every cloud backend implements (S3 family, GCS, Azure): URL forms, clients, object access.

A backend serves one integration ``provider``. Callers never branch on the provider: they look the backend up
in ``clouds.backend_for(provider)`` and call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

MAX_URL_BYTES = 16 * 1024


class UrlError(ValueError):
    """The URL is malformed or does not belong to the integration's cloud."""


@dataclass(frozen=True)
class ObjectLocation:
    bucket: str
    key: str


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str | None


class CloudBackend(Protocol):
    """One integration provider (``aws``, ``s3_compatible``, ``otc``, ``gcp``, ``azure``)."""

    provider: str
    storage_location: str  # the v2 StorageItem ``storageLocation`` of items it registers
    uri_scheme: str  # the bucket URI scheme it reads (``s3`` / ``gs``), "" for none

    def host_location(self, host: str, path: str, integration: dict[str, Any]) -> ObjectLocation | None:
        """(bucket, key) of an ``http(s)`` URL on one of the cloud's public hosts; None if not its host."""
        ...

    def arn_url_location(self, url: str, integration: dict[str, Any]) -> ObjectLocation:
        """(bucket, key) of an ``https://arn:...`` URL (S3 Multi-Region Access Points); raises UrlError."""
        ...

    def integration_fields(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Seeded integration ``entry`` completed (credentials derived); raises ValueError if unusable."""
        ...

    def make_client(self, integration: dict[str, Any]) -> Any: ...

    def head(self, client: Any, loc: ObjectLocation) -> ObjectInfo | None:
        """Size and content type, or None if the object does not exist."""
        ...

    def read(self, client: Any, loc: ObjectLocation, length: int | None) -> bytes:
        """The first ``length`` bytes (all when None)."""
        ...

    def signed_url(self, client: Any, integration: dict[str, Any], loc: ObjectLocation, expires: int) -> str:
        """A URL a plain HTTP GET can download from the local stand-in."""
        ...


def split_bucket_key(bucket: str, key: str, url: str) -> ObjectLocation:
    if not bucket or not key:
        raise UrlError(f"URL names no bucket and key: {url}")
    return ObjectLocation(bucket, key)


def path_style(path: str, host: str) -> ObjectLocation:
    """``<host>/<bucket>/<key>``."""
    bucket, _, key = path.partition("/")
    return split_bucket_key(bucket, key, host)


class NoArnUrls:
    """Mixin for backends with no ``https://arn:`` URL form."""

    provider: str

    def arn_url_location(self, url: str, integration: dict[str, Any]) -> ObjectLocation:
        raise UrlError(
            f"S3 Multi-Region Access Point URL cannot be read through a {self.provider} integration"
        )
