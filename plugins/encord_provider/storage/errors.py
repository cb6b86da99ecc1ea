"""Errors raised by the storage layer; each names the object or URI it is about."""

from __future__ import annotations

from encord_provider.errors import EncordProviderError, PermanentError, TransientError


class StorageError(EncordProviderError):
    """Base class for storage-layer errors."""


class ObjectNotFoundError(StorageError, FileNotFoundError):
    """The object does not exist (the message names its URI)."""

    def __init__(self, uri: str) -> None:
        super().__init__(f"object not found: {uri}")
        self.uri = uri


class PreconditionFailedError(StorageError, TransientError):
    """A conditional write lost: the object already exists, or changed since it was read (names its URI)."""

    def __init__(self, uri: str, condition: str) -> None:
        super().__init__(f"conditional write to {uri} failed: {condition}")
        self.uri = uri


class UnsupportedUriError(StorageError, PermanentError, ValueError):
    """A URI or object URL whose scheme or host form this package does not understand."""


class ConnectionConfigError(StorageError, PermanentError, ValueError):
    """An Airflow connection cannot be turned into a store (the message names the connection)."""
