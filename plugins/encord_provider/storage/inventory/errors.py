"""Errors raised while reading a bucket inventory; each names the manifest or data file it is about."""

from __future__ import annotations

from encord_provider.storage.errors import StorageError


class InventoryError(StorageError, ValueError):
    """A manifest or data file that cannot be used. The message names the file, and the data row (counted
    from 1, a CSV header row not counted) or the line where that applies."""

    def __init__(self, uri: str, problem: str, *, row: int | None = None, line: int | None = None) -> None:
        where = uri
        if row is not None:
            where += f", data row {row}"
        if line is not None:
            where += f", line {line}"
        super().__init__(f"{where}: {problem}")
        self.uri = uri
        self.row = row
        self.line = line


class ChecksumMismatchError(InventoryError):
    """A manifest or data file whose MD5 (or size) differs from what its inventory declares."""


class StaleInventoryError(InventoryError):
    """The newest complete inventory is older than the configured `max_age_hours`."""
