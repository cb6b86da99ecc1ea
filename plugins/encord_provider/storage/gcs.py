"""Google Cloud Storage store through google-cloud-storage."""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from encord_provider.storage.base import check_range
from encord_provider.storage.client_cache import connection_fingerprint, shared_client
from encord_provider.storage.errors import ObjectNotFoundError, PreconditionFailedError
from encord_provider.storage.key_order import code_point_order
from encord_provider.storage.probe import StoreProblem
from encord_provider.storage.records import ObjectRecord
from encord_provider.storage.urls import gcs_object_url

GCS_MAX_PAGE = 1000
GCS_CHUNK_UNIT = 256 * 1024  # resumable upload chunks must be a multiple of this
_LIST_FIELDS = "items(name,size,etag,updated),prefixes,nextPageToken"


def make_gcs_client(
    *,
    project: str | None = None,
    credentials: Any = None,
    endpoint_url: str | None = None,
    anonymous: bool = False,
) -> Any:
    """A storage.Client; `endpoint_url` points it at an emulator, `anonymous` skips authentication."""
    from google.cloud import storage

    if anonymous and credentials is None:
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    options = {"api_endpoint": endpoint_url} if endpoint_url else None
    return storage.Client(project=project, credentials=credentials, client_options=options)


def _updated(blob: Any, props: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(props["updated"])  # RFC 3339; fractions beyond µs are truncated
    except (KeyError, TypeError, ValueError):
        updated: datetime = blob.updated
        return updated


class GCSStore:
    """One GCS bucket. Listing streams `objects.list` pages of `page_size` objects."""

    scheme = "gs"
    key_order = staticmethod(code_point_order)  # GCS lists by UTF-8 bytes

    def __init__(
        self,
        bucket: str,
        *,
        client: Any = None,
        project: str | None = None,
        credentials: Any = None,
        endpoint_url: str | None = None,
        anonymous: bool = False,
        url_style: Literal["https", "gs"] = "https",
        page_size: int = GCS_MAX_PAGE,
        upload_chunk_size: int = 32 * GCS_CHUNK_UNIT,
    ) -> None:
        if not 1 <= page_size <= GCS_MAX_PAGE:
            raise ValueError(f"page_size must be within 1..{GCS_MAX_PAGE}, got {page_size}")
        if upload_chunk_size <= 0 or upload_chunk_size % GCS_CHUNK_UNIT:
            raise ValueError(
                f"upload_chunk_size must be a positive multiple of {GCS_CHUNK_UNIT}, got {upload_chunk_size}"
            )
        self.bucket = bucket
        self.client = client or make_gcs_client(
            project=project, credentials=credentials, endpoint_url=endpoint_url, anonymous=anonymous
        )
        self.url_style: Literal["https", "gs"] = url_style
        self.page_size = page_size
        self.upload_chunk_size = upload_chunk_size
        self._bucket = self.client.bucket(bucket)

    def __repr__(self) -> str:
        return f"GCSStore(bucket={self.bucket!r})"

    def object_url(self, key: str) -> str:
        return gcs_object_url(self.bucket, key, self.url_style)

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket}/{key}"

    def _record(self, blob: Any) -> ObjectRecord:
        props = blob._properties  # read the raw JSON: Blob's property getters re-parse on every access
        return ObjectRecord(
            url=self.object_url(props["name"]),
            key=props["name"],
            size=int(props.get("size") or 0),
            etag=(props.get("etag") or "").strip('"'),
            last_modified=_updated(blob, props),
        )

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectRecord]:
        # start_offset is inclusive, start_after is not: drop an exact match.
        blobs = self.client.list_blobs(
            self.bucket,
            prefix=prefix or None,
            start_offset=start_after or None,
            page_size=self.page_size,
            fields=_LIST_FIELDS,
        )
        for page in blobs.pages:
            for blob in page:
                if blob.name != start_after:
                    yield self._record(blob)

    def list_level(self, prefix: str = "", delimiter: str = "/") -> Iterator[ObjectRecord | str]:
        """Objects and sub-prefixes in key order, each prefix once. A page's `prefixes` may name prefixes
        that sort after its last object, and repeat on later pages (fake-gcs-server sends them all on every
        page), so prefixes wait in a heap until the listing has passed them."""
        blobs = self.client.list_blobs(
            self.bucket,
            prefix=prefix or None,
            delimiter=delimiter,
            page_size=self.page_size,
            fields=_LIST_FIELDS,
        )
        waiting: list[str] = []
        seen: set[str] = set()
        for page in blobs.pages:
            for sub_prefix in page.prefixes:
                if sub_prefix not in seen:
                    seen.add(sub_prefix)
                    heapq.heappush(waiting, sub_prefix)
            for blob in page:
                while waiting and waiting[0] < blob.name:
                    yield heapq.heappop(waiting)
                yield self._record(blob)
        while waiting:
            yield heapq.heappop(waiting)

    def stat(self, key: str) -> ObjectRecord:
        blob = self._bucket.get_blob(key)
        if blob is None:
            raise ObjectNotFoundError(self.uri(key))
        return self._record(blob)

    def exists(self, key: str) -> bool:
        return bool(self._bucket.blob(key).exists())

    def delete(self, key: str) -> None:
        from google.api_core import exceptions

        try:
            self._bucket.blob(key).delete()
        except exceptions.NotFound:
            pass

    def _download(self, key: str, **extra: Any) -> bytes:
        from google.api_core import exceptions

        try:
            data: bytes = self._bucket.blob(key).download_as_bytes(**extra)
        except exceptions.NotFound as err:
            raise ObjectNotFoundError(self.uri(key)) from err
        except exceptions.RequestRangeNotSatisfiable:
            return b""
        return data

    def read_bytes(self, key: str) -> bytes:
        return self._download(key)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Up to `length` bytes from offset `start`; empty past the end of the object."""
        check_range(start, length)
        if length == 0:
            return b""
        return self._download(key, start=start, end=start + length - 1)

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._bucket.blob(key).upload_from_string(
            data, content_type=content_type or "application/octet-stream"
        )

    def write_file(self, key: str, path: str | os.PathLike[str], content_type: str | None = None) -> None:
        """Streams the file. The client sends files up to 8 MiB in one request and larger ones as a resumable
        upload of `upload_chunk_size` chunks, so at most max(8 MiB, chunk) is held in memory."""
        blob = self._bucket.blob(key, chunk_size=self.upload_chunk_size)
        blob.upload_from_filename(os.fspath(path), content_type=content_type or "application/octet-stream")

    # -- conditional writes (ConditionalStore) ---------------------------------------------------

    def read_versioned(self, key: str) -> tuple[bytes, str]:
        """The bytes of one generation (the download is pinned to the generation it reports)."""
        from google.api_core import exceptions

        blob = self._bucket.get_blob(key)
        if blob is None:
            raise ObjectNotFoundError(self.uri(key))
        try:
            data: bytes = blob.download_as_bytes(if_generation_match=blob.generation)
        except (exceptions.NotFound, exceptions.PreconditionFailed) as err:  # replaced or deleted meanwhile
            raise ObjectNotFoundError(self.uri(key)) from err
        return data, str(blob.generation)

    def write_conditional(
        self, key: str, data: bytes, *, if_version: str | None, content_type: str | None = None
    ) -> str:
        """Upload with `ifGenerationMatch` = 0 (create) or the generation read (replace)."""
        from google.api_core import exceptions

        blob = self._bucket.blob(key)
        generation = 0 if if_version is None else int(if_version)
        try:
            blob.upload_from_string(
                data, content_type=content_type or "application/octet-stream", if_generation_match=generation
            )
        except exceptions.PreconditionFailed as err:
            raise PreconditionFailedError(self.uri(key), f"ifGenerationMatch={generation}") from err
        return str(blob.generation)


def open_gcs_store(bucket: str, connection: Any, endpoint_url: str | None, **store_kwargs: Any) -> GCSStore:
    """The registry's opener. Without a connection: Application Default Credentials. With one (a
    `google_cloud_platform` connection): its project and credentials (see `connection_credentials`), its
    `endpoint_url` extra unless `endpoint_url` is given, and its `url_style` extra."""
    if connection is None:
        return GCSStore(bucket, endpoint_url=endpoint_url, **store_kwargs)
    from encord_provider.storage.connections import extra_value

    client = shared_client(
        ("gs", connection.conn_id, endpoint_url, connection_fingerprint(connection)),
        lambda: make_gcs_client(
            project=extra_value(connection, "project") or extra_value(connection, "project_id"),
            credentials=connection_credentials(connection),
            endpoint_url=endpoint_url or extra_value(connection, "endpoint_url"),
        ),
    )
    kwargs: dict[str, Any] = {"client": client}
    if connection.extra_dejson.get("url_style"):
        kwargs["url_style"] = connection.extra_dejson["url_style"]
    return GCSStore(bucket, **{**kwargs, **store_kwargs})


def connection_credentials(connection: Any) -> Any:
    """Credentials from `keyfile_dict` (JSON text or object), `key_path`/`keyfile` (a file), `anonymous`,
    else Application Default Credentials (None lets the client find them)."""
    from encord_provider.storage.connections import extra_value
    from encord_provider.storage.errors import ConnectionConfigError

    conn_id = connection.conn_id
    if extra_value(connection, "anonymous") in (True, "true", "True", 1):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    from google.oauth2 import service_account

    keyfile_dict = extra_value(connection, "keyfile_dict")
    if keyfile_dict:
        try:
            info = json.loads(keyfile_dict) if isinstance(keyfile_dict, str) else dict(keyfile_dict)
        except json.JSONDecodeError as err:
            raise ConnectionConfigError(f"connection {conn_id!r}: keyfile_dict is not valid JSON") from err
        return service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    key_path = extra_value(connection, "key_path") or extra_value(connection, "keyfile")
    if key_path:
        try:
            return service_account.Credentials.from_service_account_file(key_path)  # type: ignore[no-untyped-call]
        except OSError as err:
            raise ConnectionConfigError(f"connection {conn_id!r}: cannot read key file {key_path!r}") from err
    return None


def classify_gcs_error(err: BaseException) -> StoreProblem | None:
    """What an error of this SDK says about the bucket (storage.probe.classify); None: something else."""
    try:
        from google.api_core import exceptions
        from google.auth.exceptions import DefaultCredentialsError, RefreshError
    except ImportError:  # the GCS client is optional
        return None
    if isinstance(err, exceptions.NotFound):
        return StoreProblem.MISSING
    if isinstance(
        err, exceptions.Forbidden | exceptions.Unauthorized | DefaultCredentialsError | RefreshError
    ):
        return StoreProblem.ACCESS
    if isinstance(err, exceptions.ServiceUnavailable | exceptions.RetryError):
        return StoreProblem.UNREACHABLE
    return None
