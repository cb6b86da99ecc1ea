"""Opening stores from URIs (`s3://bucket/prefix`, `gs://…`, `az://container/…`, `file:///path`), and
whole-object reads/writes by URI, used to pass chunk files between tasks.

`open_store` is the one way a store is built from a (URI, connection, endpoint): ingest, export, triggers,
the CLI and the UI all come through it. The schemes are those of `storage.registry`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from encord_provider.storage import registry
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import ConnectionConfigError, UnsupportedUriError


@dataclass(frozen=True, slots=True)
class ParsedUri:
    """`scheme://bucket/key`; for `file://` the bucket is `/` and the key the absolute path without it."""

    scheme: str
    bucket: str
    key: str

    def __str__(self) -> str:
        if self.bucket == "/":
            return f"{self.scheme}:///{self.key}"
        return f"{self.scheme}://{self.bucket}/{self.key}"


def parse_uri(uri: str) -> ParsedUri:
    """Split a storage URI; keys are taken verbatim (no percent-decoding) except for `file://`."""
    name, sep, rest = uri.partition("://")
    backend = registry.find(name)
    if not sep or backend is None:
        expected = ", ".join(f"{scheme}://" for scheme in registry.schemes())
        raise UnsupportedUriError(f"unsupported storage URI {uri!r}: expected one of {expected}")
    if backend.path_uris:
        parts = urlsplit(uri)
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise UnsupportedUriError(f"{backend.scheme} URI must hold an absolute path: {uri!r}")
        return ParsedUri(backend.scheme, "/", path.lstrip("/"))
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise UnsupportedUriError(f"storage URI has no bucket: {uri!r}")
    return ParsedUri(backend.scheme, bucket, key)


def open_store(
    uri: str, *, conn_id: str | None = None, endpoint_url: str | None = None, **store_kwargs: Any
) -> ObjectStore:
    """The store of the bucket `uri` names (`s3://bucket[/anything]`; `file:///…`: rooted at `/`).

    With `conn_id`, the Airflow connection's credentials are used (its type must be one the backend reads)
    and `endpoint_url`, if given, replaces only the connection's endpoint; without one, the environment's
    default credentials. `store_kwargs` go to the store (e.g. `page_size`, `bucket_region`).
    """
    parsed = parse_uri(uri)
    backend = registry.find(parsed.scheme)
    assert backend is not None  # parse_uri checked the scheme
    connection = _connection_for(backend, conn_id) if conn_id else None
    store: ObjectStore = backend.open(parsed.bucket, connection, endpoint_url, **store_kwargs)
    return store


def open_bucket(
    scheme: str,
    bucket: str,
    *,
    conn_id: str | None = None,
    endpoint_url: str | None = None,
    **store_kwargs: Any,
) -> ObjectStore:
    """The store of a bucket given by parts (config, trigger payloads). A path backend's bucket is its
    directory (`file://`, a local source's `path`): the store is rooted there, so keys are relative to it."""
    backend = registry.find(scheme)
    if backend is not None and backend.path_uris:
        store: ObjectStore = backend.open(bucket, None, None, **store_kwargs)
        return store
    return open_store(bucket_uri(scheme, bucket), conn_id=conn_id, endpoint_url=endpoint_url, **store_kwargs)


def bucket_uri(scheme: str, bucket: str) -> str:
    """`s3://bucket`: the URI `open_store` takes for a bucket given by parts (config, trigger payloads)."""
    return f"{scheme}://{bucket}"


def _connection_for(backend: registry.Backend, conn_id: str) -> Any:
    if not backend.conn_types:
        return None  # e.g. file://: a directory has no credentials
    from encord_provider.storage.connections import conn_type_of, get_connection

    connection = get_connection(conn_id)
    if conn_type_of(connection) not in backend.conn_types:
        raise ConnectionConfigError(
            f"connection {conn_id!r} has type {connection.conn_type!r}, but {backend.scheme}:// buckets need "
            f"a connection of type {' or '.join(backend.conn_types)}"
        )
    return connection


def store_from_url(
    url: str, *, endpoint_url: str | None = None, conn_id: str | None = None, **store_kwargs: Any
) -> tuple[ObjectStore, str]:
    """The store for the bucket in `url` and the prefix after it: `s3://b/in/` -> (S3Store('b'), 'in/').
    A `file://` URL is rooted at its directory, so listed keys are relative to it."""
    parsed = parse_uri(url)
    if parsed.bucket == "/":
        root, prefix = _directory_and_prefix("/" + parsed.key)
        backend = registry.find(parsed.scheme)
        assert backend is not None
        return backend.open(root, None, None, **store_kwargs), prefix
    store = open_store(url, endpoint_url=endpoint_url, conn_id=conn_id, **store_kwargs)
    return store, parsed.key


def _directory_and_prefix(path: str) -> tuple[str, str]:
    """`/data/in/` or an existing directory `/data/in` -> ('/data/in', ''); `/data/in/img_` ->
    ('/data/in', 'img_')."""
    if path.endswith("/") or os.path.isdir(path):
        return path, ""
    root, _, prefix = path.rpartition("/")
    return root or "/", prefix


def store_and_key(
    uri: str, *, endpoint_url: str | None = None, conn_id: str | None = None, **store_kwargs: Any
) -> tuple[ObjectStore, str]:
    """The store holding the object `uri` names, and its key; UnsupportedUriError if it names a folder."""
    parsed = parse_uri(uri)
    if not parsed.key or parsed.key.endswith("/"):
        raise UnsupportedUriError(f"URI names no object: {uri!r}")
    return open_store(uri, endpoint_url=endpoint_url, conn_id=conn_id, **store_kwargs), parsed.key


def read_uri(
    uri: str, *, endpoint_url: str | None = None, conn_id: str | None = None, **store_kwargs: Any
) -> bytes:
    """The whole object at `uri`; raises ObjectNotFoundError naming it if missing."""
    store, key = store_and_key(uri, endpoint_url=endpoint_url, conn_id=conn_id, **store_kwargs)
    return store.read_bytes(key)


def write_uri(
    uri: str,
    data: bytes,
    *,
    content_type: str | None = None,
    endpoint_url: str | None = None,
    conn_id: str | None = None,
    **store_kwargs: Any,
) -> str:
    """Write `data` to `uri` (replacing it) and return `uri`, so a task can push it as a small XCom."""
    store, key = store_and_key(uri, endpoint_url=endpoint_url, conn_id=conn_id, **store_kwargs)
    store.write_bytes(key, data, content_type=content_type)
    return uri
