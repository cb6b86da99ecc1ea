"""Stores from URIs (`s3://bucket/prefix`, `gs://…`, `az://container/…`, `file:///path`), and whole-object
reads/writes by URI, used to pass chunk files between tasks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import UnsupportedUriError

SCHEMES = ("s3", "gs", "az", "file")
_ALIASES = {"gcs": "gs", "abfs": "az", "wasb": "az"}


@dataclass(frozen=True, slots=True)
class ParsedUri:
    """`scheme://bucket/key`; for `file://` the bucket is `/` and the key the absolute path without it."""

    scheme: str
    bucket: str
    key: str

    def __str__(self) -> str:
        if self.scheme == "file":
            return f"file:///{self.key}"
        return f"{self.scheme}://{self.bucket}/{self.key}"


def parse_uri(uri: str) -> ParsedUri:
    """Split a storage URI; keys are taken verbatim (no percent-decoding) except for `file://`."""
    scheme, sep, rest = uri.partition("://")
    scheme = _ALIASES.get(scheme.lower(), scheme.lower())
    if not sep or scheme not in SCHEMES:
        raise UnsupportedUriError(f"unsupported storage URI {uri!r}: expected one of {', '.join(SCHEMES)}://")
    if scheme == "file":
        parts = urlsplit(uri)
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise UnsupportedUriError(f"file URI must hold an absolute path: {uri!r}")
        return ParsedUri("file", "/", path.lstrip("/"))
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise UnsupportedUriError(f"storage URI has no bucket: {uri!r}")
    return ParsedUri(scheme, bucket, key)


def make_store(
    scheme: str,
    bucket: str,
    *,
    endpoint_url: str | None = None,
    conn_id: str | None = None,
    **client_kwargs: Any,
) -> ObjectStore:
    """A store for one bucket: from an Airflow connection if `conn_id` is given (`endpoint_url` then
    overrides the connection's endpoint), else from the environment (default AWS/Google credentials,
    AZURE_STORAGE_CONNECTION_STRING)."""
    if conn_id:
        from encord_provider.storage.connections import store_from_connection

        return store_from_connection(conn_id, bucket, endpoint_url=endpoint_url, **client_kwargs)
    if scheme == "s3":
        return _s3_store(bucket, endpoint_url, client_kwargs)
    if scheme == "gs":
        from encord_provider.storage.gcs import GCSStore

        return GCSStore(bucket, endpoint_url=endpoint_url, **client_kwargs)
    if scheme == "az":
        return _azure_store(bucket, endpoint_url, client_kwargs)
    if scheme == "file":
        from encord_provider.storage.local import LocalStore

        return LocalStore(bucket)
    raise UnsupportedUriError(f"unsupported storage scheme {scheme!r}")


def _s3_store(bucket: str, endpoint_url: str | None, client_kwargs: dict[str, Any]) -> ObjectStore:
    """An S3Store on the environment's credentials; its client is shared per endpoint (client_cache)."""
    from encord_provider.storage.client_cache import fingerprint, shared_client
    from encord_provider.storage.s3 import S3Store, make_s3_client

    if set(client_kwargs) - _S3_CLIENT_ARGS - _S3_STORE_ARGS:  # a client, credentials, botocore options
        return S3Store(bucket, endpoint_url=endpoint_url, **client_kwargs)
    client_args = {k: v for k, v in client_kwargs.items() if k in _S3_CLIENT_ARGS}
    environment = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    client = shared_client(
        ("s3", "environment", endpoint_url, fingerprint(client_args, environment)),
        lambda: make_s3_client(endpoint_url=endpoint_url, **client_args),
    )
    return S3Store(bucket, client=client, endpoint_url=endpoint_url, **client_kwargs)


_S3_CLIENT_ARGS = {"region", "addressing_style"}
_S3_STORE_ARGS = {
    "bucket_region",
    "url_style",
    "mrap_arn",
    "page_size",
    "multipart_threshold",
    "multipart_chunksize",
}


def _azure_store(container: str, endpoint_url: str | None, client_kwargs: dict[str, Any]) -> ObjectStore:
    from encord_provider.storage.azure import AzureBlobStore

    if endpoint_url:
        return AzureBlobStore(container, account_url=endpoint_url, **client_kwargs)
    if "service" not in client_kwargs and "connection_string" not in client_kwargs:
        conn_str = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        if not conn_str:
            raise UnsupportedUriError(
                f"az://{container}: give conn_id, endpoint_url, connection_string, or set "
                "AZURE_STORAGE_CONNECTION_STRING"
            )
        client_kwargs = {**client_kwargs, "connection_string": conn_str}
    return AzureBlobStore(container, **client_kwargs)


def store_from_url(
    url: str, *, endpoint_url: str | None = None, conn_id: str | None = None, **client_kwargs: Any
) -> tuple[ObjectStore, str]:
    """The store for the bucket in `url` and the prefix after it: `s3://b/in/` -> (S3Store('b'), 'in/')."""
    parsed = parse_uri(url)
    if parsed.scheme == "file":
        return _local_store_and_prefix("/" + parsed.key)
    store = make_store(
        parsed.scheme, parsed.bucket, endpoint_url=endpoint_url, conn_id=conn_id, **client_kwargs
    )
    return store, parsed.key


def _local_store_and_prefix(path: str) -> tuple[ObjectStore, str]:
    """`/data/in/` or an existing directory `/data/in` -> (LocalStore('/data/in'), ''); `/data/in/img_` ->
    (LocalStore('/data/in'), 'img_')."""
    from encord_provider.storage.local import LocalStore

    if path.endswith("/") or os.path.isdir(path):
        return LocalStore(path), ""
    root, _, prefix = path.rpartition("/")
    return LocalStore(root or "/"), prefix


def _store_and_key(
    uri: str, endpoint_url: str | None, conn_id: str | None, kwargs: dict[str, Any]
) -> tuple[ObjectStore, str]:
    parsed = parse_uri(uri)
    if not parsed.key or parsed.key.endswith("/"):
        raise UnsupportedUriError(f"URI names no object: {uri!r}")
    if parsed.scheme == "file":
        return make_store("file", "/"), parsed.key
    store = make_store(parsed.scheme, parsed.bucket, endpoint_url=endpoint_url, conn_id=conn_id, **kwargs)
    return store, parsed.key


def read_uri(
    uri: str, *, endpoint_url: str | None = None, conn_id: str | None = None, **client_kwargs: Any
) -> bytes:
    """The whole object at `uri`; raises ObjectNotFoundError naming it if missing."""
    store, key = _store_and_key(uri, endpoint_url, conn_id, client_kwargs)
    return store.read_bytes(key)


def write_uri(
    uri: str,
    data: bytes,
    *,
    content_type: str | None = None,
    endpoint_url: str | None = None,
    conn_id: str | None = None,
    **client_kwargs: Any,
) -> str:
    """Write `data` to `uri` (replacing it) and return `uri`, so a task can push it as a small XCom."""
    store, key = _store_and_key(uri, endpoint_url, conn_id, client_kwargs)
    store.write_bytes(key, data, content_type=content_type)
    return uri
