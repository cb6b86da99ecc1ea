"""Resolve object URLs through a cloud integration: ``(bucket/container, key)``.

Cloud-specific host forms come from the integration's backend (``clouds.backend_for``); the forms every
cloud shares (bucket URIs, path style on the integration's own endpoint) are parsed here. URL forms
accepted are listed in README_DEV.md.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from encord_emulator.clouds import BACKENDS, backend_for
from encord_emulator.clouds.base import MAX_URL_BYTES, ObjectLocation, UrlError, split_bucket_key

__all__ = ["MAX_URL_BYTES", "ObjectLocation", "UrlError", "parse_object_url"]


def parse_object_url(url: str, integration: dict[str, Any]) -> ObjectLocation:
    """Map ``url`` to (bucket/container, key) for ``integration`` (raises UrlError)."""
    if len(url.encode("utf-8")) > MAX_URL_BYTES:
        raise UrlError(f"URL is longer than {MAX_URL_BYTES} bytes")
    provider = integration["provider"]
    backend = backend_for(provider)
    scheme, has_scheme, rest = url.partition("://")
    scheme = scheme.lower() if has_scheme else ""
    if scheme in _URI_SCHEMES:
        return _bucket_uri_location(scheme, rest, provider, backend.uri_scheme, url)
    if scheme == "https" and rest[:4].lower() == "arn:":
        return backend.arn_url_location(url, integration)
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("http", "https"):
        raise UrlError(f"unsupported URL scheme {parts.scheme.lower()!r}")
    path = urllib.parse.unquote(parts.path.removeprefix("/"))
    own = _own_endpoint_location(parts, path, integration)
    if own is not None:
        return own
    location = backend.host_location(host, path, integration)
    if location is None:
        raise UrlError(f"host {host!r} is not a {provider} object URL")
    return location


_URI_SCHEMES = {backend.uri_scheme for backend in BACKENDS.values() if backend.uri_scheme}


def _bucket_uri_location(scheme: str, rest: str, provider: str, expected: str, url: str) -> ObjectLocation:
    """``s3://`` and ``gs://`` URIs carry the key verbatim: a ``#`` or ``?`` in it is part of the key."""
    if scheme != expected:
        raise UrlError(f"{scheme}:// URL cannot be read through a {provider} integration")
    bucket, _, key = rest.partition("/")
    return split_bucket_key(bucket, key, url)


def _own_endpoint_location(
    parts: urllib.parse.SplitResult, path: str, integration: dict[str, Any]
) -> ObjectLocation | None:
    endpoint = urllib.parse.urlsplit(str(integration.get("endpoint_url") or ""))
    if not endpoint.netloc or parts.netloc.lower() != endpoint.netloc.lower():
        return None
    prefix = urllib.parse.unquote(endpoint.path.strip("/"))
    if prefix:
        if not path.startswith(prefix + "/"):
            return None
        path = path[len(prefix) + 1 :]
    bucket, _, key = path.partition("/")
    return split_bucket_key(bucket, key, parts.geturl())
