"""Storage backends: one listing interface over S3 (and S3-compatible), GCS and Azure Blob."""

from encord_provider.storage.base import BrowsableStore, ObjectStore
from encord_provider.storage.errors import (
    ConnectionConfigError,
    ObjectNotFoundError,
    StorageError,
    UnsupportedUriError,
)
from encord_provider.storage.factory import (
    ParsedUri,
    open_store,
    parse_uri,
    read_uri,
    store_from_url,
    write_uri,
)
from encord_provider.storage.filters import FilterStats, ListingFilter, list_filtered
from encord_provider.storage.parallel import list_parallel
from encord_provider.storage.records import ObjectRecord
from encord_provider.storage.urls import key_from_url, parse_object_url

__all__ = [
    "BrowsableStore",
    "ConnectionConfigError",
    "FilterStats",
    "ListingFilter",
    "ObjectNotFoundError",
    "ObjectRecord",
    "ObjectStore",
    "ParsedUri",
    "StorageError",
    "UnsupportedUriError",
    "key_from_url",
    "list_filtered",
    "list_parallel",
    "open_store",
    "parse_object_url",
    "parse_uri",
    "read_uri",
    "store_from_url",
    "write_uri",
]
