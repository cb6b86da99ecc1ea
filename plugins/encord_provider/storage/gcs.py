"""Google Cloud Storage store through google-cloud-storage."""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from encord_provider.storage.base import check_range
from encord_provider.storage.errors import ObjectNotFoundError
from encord_provider.storage.key_order import code_point_order
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
