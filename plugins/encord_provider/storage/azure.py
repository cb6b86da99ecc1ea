"""Azure Blob Storage store through azure-storage-blob (one container)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from encord_provider.storage.base import check_range
from encord_provider.storage.errors import ObjectNotFoundError
from encord_provider.storage.key_order import utf16_order
from encord_provider.storage.records import ObjectRecord
from encord_provider.storage.urls import azure_object_url

AZURE_MAX_PAGE = 5000


def make_blob_service(
    *,
    connection_string: str | None = None,
    account_url: str | None = None,
    credential: Any = None,
    **client_kwargs: Any,
) -> Any:
    """A BlobServiceClient from a connection string, or an account URL plus credential (key, SAS, token)."""
    from azure.storage.blob import BlobServiceClient

    if connection_string:
        return BlobServiceClient.from_connection_string(
            connection_string, credential=credential, **client_kwargs
        )
    if account_url:
        return BlobServiceClient(account_url, credential=credential, **client_kwargs)
    raise ValueError("an Azure store needs a connection_string or an account_url")


class AzureBlobStore:
    """One Azure Blob container; `bucket` is the container name."""

    scheme = "az"
    key_order = staticmethod(utf16_order)  # Azure compares UTF-16 code units (see key_order.py)

    def __init__(
        self,
        container: str,
        *,
        service: Any = None,
        connection_string: str | None = None,
        account_url: str | None = None,
        credential: Any = None,
        page_size: int = AZURE_MAX_PAGE,
        **client_kwargs: Any,
    ) -> None:
        if not 1 <= page_size <= AZURE_MAX_PAGE:
            raise ValueError(f"page_size must be within 1..{AZURE_MAX_PAGE}, got {page_size}")
        self.bucket = container
        self.service = service or make_blob_service(
            connection_string=connection_string,
            account_url=account_url,
            credential=credential,
            **client_kwargs,
        )
        self.account: str = self.service.account_name
        self.container = self.service.get_container_client(container)
        self.page_size = page_size

    def __repr__(self) -> str:
        return f"AzureBlobStore(account={self.account!r}, container={self.bucket!r})"

    def object_url(self, key: str) -> str:
        return azure_object_url(self.account, self.bucket, key)

    def uri(self, key: str) -> str:
        return f"az://{self.bucket}/{key}"

    def _record(self, blob: Any) -> ObjectRecord:
        return ObjectRecord(
            url=self.object_url(blob.name),
            key=blob.name,
            size=int(blob.size or 0),
            etag=(blob.etag or "").strip('"'),
            last_modified=blob.last_modified,
        )

    def _list_all(self, prefix: str) -> Iterator[ObjectRecord]:
        pages = self.container.list_blobs(name_starts_with=prefix or None, results_per_page=self.page_size)
        for page in pages.by_page():
            for blob in page:
                yield self._record(blob)

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectRecord]:
        if start_after is None or start_after < prefix:
            return self._list_all(prefix)
        return self._list_after(prefix, start_after)

    def _list_after(self, prefix: str, start_after: str) -> Iterator[ObjectRecord]:
        """Keys after `start_after`. Blob listing has no start-after parameter, so walk the `/` levels and
        skip whole sub-prefixes that sort before `start_after` instead of reading every key in them."""
        if not start_after.startswith(prefix):
            return  # start_after > prefix and outside it: every key under prefix sorts before it
        for entry in self.list_level(prefix):
            if isinstance(entry, ObjectRecord):
                if entry.key > start_after:
                    yield entry
            elif start_after.startswith(entry):
                yield from self._list_after(entry, start_after)
            elif entry > start_after:
                yield from self._list_all(entry)

    def list_level(self, prefix: str = "", delimiter: str = "/") -> Iterator[ObjectRecord | str]:
        from azure.storage.blob import BlobPrefix

        pages = self.container.walk_blobs(
            name_starts_with=prefix or None, delimiter=delimiter, results_per_page=self.page_size
        )
        for page in pages.by_page():
            # The SDK puts a page's prefixes before its blobs; restore the service's key order.
            entries: list[tuple[str, ObjectRecord | str]] = [
                (item.name, item.name if isinstance(item, BlobPrefix) else self._record(item))
                for item in page
            ]
            entries.sort(key=lambda entry: utf16_order(entry[0]))
            for _, entry in entries:
                yield entry

    def stat(self, key: str) -> ObjectRecord:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            props = self.container.get_blob_client(key).get_blob_properties()
        except ResourceNotFoundError as err:
            raise ObjectNotFoundError(self.uri(key)) from err
        return self._record(props)

    def exists(self, key: str) -> bool:
        return bool(self.container.get_blob_client(key).exists())

    def delete(self, key: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self.container.delete_blob(key, delete_snapshots="include")
        except ResourceNotFoundError:
            pass

    def _download(self, key: str, offset: int | None = None, length: int | None = None) -> bytes:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        try:
            data: bytes = self.container.download_blob(key, offset=offset, length=length).readall()
        except ResourceNotFoundError as err:
            raise ObjectNotFoundError(self.uri(key)) from err
        except HttpResponseError as err:
            if err.status_code == 416:
                return b""
            raise
        return data

    def read_bytes(self, key: str) -> bytes:
        return self._download(key)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Up to `length` bytes from offset `start`; empty past the end of the object."""
        check_range(start, length)
        if length == 0:
            return b""
        return self._download(key, offset=start, length=length)

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self.container.upload_blob(key, data, overwrite=True, content_settings=_settings(content_type))

    def write_file(self, key: str, path: str | os.PathLike[str], content_type: str | None = None) -> None:
        """Streams the file. The SDK sends it in one PUT up to the client's `max_single_put_size` (64 MiB by
        default) and as blocks of `max_block_size` above that; pass both as client kwargs to bound memory."""
        with open(path, "rb") as stream:
            self.container.upload_blob(
                key,
                stream,
                length=os.fstat(stream.fileno()).st_size,
                overwrite=True,
                content_settings=_settings(content_type),
            )


def _settings(content_type: str | None) -> Any:
    from azure.storage.blob import ContentSettings

    return ContentSettings(content_type=content_type) if content_type else None
