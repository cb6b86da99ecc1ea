"""Azure Blob Storage store through azure-storage-blob (one container)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from encord_provider.storage.base import check_range
from encord_provider.storage.client_cache import connection_fingerprint, shared_client
from encord_provider.storage.errors import ObjectNotFoundError, PreconditionFailedError
from encord_provider.storage.key_order import utf16_order
from encord_provider.storage.probe import StoreProblem
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

    # -- conditional writes (ConditionalStore) ---------------------------------------------------

    def read_versioned(self, key: str) -> tuple[bytes, str]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            download = self.container.download_blob(key)
        except ResourceNotFoundError as err:
            raise ObjectNotFoundError(self.uri(key)) from err
        data: bytes = download.readall()
        return data, str(download.properties.etag)

    def write_conditional(
        self, key: str, data: bytes, *, if_version: str | None, content_type: str | None = None
    ) -> str:
        """Put Blob with `If-None-Match: *` (create) or `If-Match: <etag>` (replace)."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

        blob = self.container.get_blob_client(key)
        condition: dict[str, Any] = {"overwrite": False}
        if if_version is not None:
            condition = {
                "overwrite": True,
                "etag": if_version,
                "match_condition": MatchConditions.IfNotModified,
            }
        try:
            result = blob.upload_blob(data, content_settings=_settings(content_type), **condition)
        except (ResourceExistsError, ResourceModifiedError) as err:
            wanted = "If-None-Match: *" if if_version is None else f"If-Match: {if_version}"
            raise PreconditionFailedError(self.uri(key), wanted) from err
        return str(result["etag"])


def _settings(content_type: str | None) -> Any:
    from azure.storage.blob import ContentSettings

    return ContentSettings(content_type=content_type) if content_type else None


def open_azure_store(
    container: str, connection: Any, endpoint_url: str | None, **store_kwargs: Any
) -> AzureBlobStore:
    """The registry's opener. Without a connection: `endpoint_url` as the account URL, else a given
    `connection_string`/`service`, else AZURE_STORAGE_CONNECTION_STRING. With a `wasb` connection: see
    `_from_connection`."""
    from encord_provider.storage.errors import UnsupportedUriError

    if connection is not None:
        return _from_connection(container, connection, endpoint_url, store_kwargs)
    if endpoint_url:
        return AzureBlobStore(container, account_url=endpoint_url, **store_kwargs)
    if "service" not in store_kwargs and "connection_string" not in store_kwargs:
        conn_str = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        if not conn_str:
            raise UnsupportedUriError(
                f"az://{container}: give conn_id, endpoint_url, connection_string, or set "
                "AZURE_STORAGE_CONNECTION_STRING"
            )
        store_kwargs = {**store_kwargs, "connection_string": conn_str}
    return AzureBlobStore(container, **store_kwargs)


def _connection_string_parts(conn_str: str) -> dict[str, str]:
    """`A=1;B=x=y;` -> {"A": "1", "B": "x=y"} (values may contain '=')."""
    pairs = (part.split("=", 1) for part in conn_str.split(";") if "=" in part)
    return {name.strip(): value.strip() for name, value in pairs}


def _from_connection(
    container: str, connection: Any, endpoint_url: str | None, store_kwargs: dict[str, Any]
) -> AzureBlobStore:
    """The connection's `connection_string`, unless `endpoint_url` is given: then (as without a connection
    string) the account URL (`endpoint_url`, extra `account_url`, host, or
    `https://<login>.blob.core.windows.net`) with the account key (password, `shared_access_key`, or the
    connection string's AccountKey) or a `sas_token`. An explicit endpoint always wins."""
    from encord_provider.storage.connections import extra_value
    from encord_provider.storage.errors import ConnectionConfigError

    conn_id = connection.conn_id
    conn_str = extra_value(connection, "connection_string")
    cache_key = ("az", conn_id, endpoint_url, connection_fingerprint(connection))
    if conn_str and not endpoint_url:
        service = shared_client(cache_key, lambda: make_blob_service(connection_string=conn_str))
        return AzureBlobStore(container, service=service, **store_kwargs)
    login = connection.login
    account_url = (
        endpoint_url
        or extra_value(connection, "account_url")
        or connection.host
        or (f"https://{login}.blob.core.windows.net" if login else None)
    )
    if not account_url:
        raise ConnectionConfigError(
            f"connection {conn_id!r}: set extra connection_string, or host/login (the storage account)"
        )
    if not account_url.startswith(("http://", "https://")):
        account_url = f"https://{account_url}"
    from_conn_str = _connection_string_parts(conn_str or "")
    account = login or from_conn_str.get("AccountName")
    sas_token = extra_value(connection, "sas_token") or from_conn_str.get("SharedAccessSignature")
    key = (
        extra_value(connection, "shared_access_key") or connection.password or from_conn_str.get("AccountKey")
    )
    credential: Any
    if sas_token:
        credential = sas_token.lstrip("?")
    elif key and account:
        credential = {"account_name": account, "account_key": key}
    else:
        raise ConnectionConfigError(
            f"connection {conn_id!r}: needs an account key (password or shared_access_key) with the "
            "account name in login, or a sas_token"
        )
    service = shared_client(
        cache_key, lambda: make_blob_service(account_url=account_url, credential=credential)
    )
    return AzureBlobStore(container, service=service, **store_kwargs)


def classify_azure_error(err: BaseException) -> StoreProblem | None:
    """What an error of this SDK says about the bucket (storage.probe.classify); None: something else."""
    try:
        from azure.core import exceptions
    except ImportError:  # the Azure client is optional
        return None
    if isinstance(err, exceptions.ResourceNotFoundError):
        return StoreProblem.MISSING if "Container" in str(getattr(err, "error_code", "")) else None
    if isinstance(err, exceptions.ClientAuthenticationError):
        return StoreProblem.ACCESS
    if isinstance(err, exceptions.HttpResponseError) and err.status_code in (401, 403):
        return StoreProblem.ACCESS
    if isinstance(err, exceptions.ServiceRequestError):
        return StoreProblem.UNREACHABLE
    return None
