"""A local directory seen as a bucket (`file://` URIs), for dry runs and tests without a cloud."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from encord_provider.storage.base import check_range
from encord_provider.storage.errors import ObjectNotFoundError, PreconditionFailedError
from encord_provider.storage.key_order import code_point_order
from encord_provider.storage.records import ObjectRecord


class LocalStore:
    """Keys are `/`-separated paths relative to `root`; listing is in the same key order as S3."""

    scheme = "file"
    key_order = staticmethod(code_point_order)

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.bucket = str(self.root)

    def __repr__(self) -> str:
        return f"LocalStore(root={self.bucket!r})"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if path != self.root and self.root not in path.parents:
            raise ValueError(f"key {key!r} escapes the store root {self.bucket}")
        return path

    def local_path(self, key: str) -> Path:
        """The file behind `key` (what a local source uploads to Encord)."""
        return self._path(key)

    def object_url(self, key: str) -> str:
        return self._path(key).as_uri()

    def uri(self, key: str) -> str:
        return "file://" + quote(str(self._path(key)), safe="/")

    def _record(self, key: str, stat: os.stat_result) -> ObjectRecord:
        return ObjectRecord(
            url=self.object_url(key),
            key=key,
            size=stat.st_size,
            etag=f"{stat.st_mtime_ns:x}-{stat.st_size:x}",
            last_modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        )

    def _entries(self, directory: Path, rel: str) -> list[tuple[str, os.DirEntry[str]]]:
        """Entries of one directory sorted as their keys sort (a directory `a` as `a/`)."""
        try:
            with os.scandir(directory) as scan:
                named = [(rel + e.name + ("/" if e.is_dir() else ""), e) for e in scan]
        except FileNotFoundError:
            return []
        return sorted(named, key=lambda pair: pair[0])

    def _walk(self, directory: Path, rel: str) -> Iterator[ObjectRecord]:
        for key, entry in self._entries(directory, rel):
            if entry.is_dir():
                yield from self._walk(Path(entry.path), key)
            else:
                yield self._record(key, entry.stat())

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectRecord]:
        base, _, _ = prefix.rpartition("/")
        rel = base + "/" if base else ""
        for record in self._walk(self._path(base) if base else self.root, rel):
            if record.key.startswith(prefix) and (start_after is None or record.key > start_after):
                yield record

    def list_level(self, prefix: str = "", delimiter: str = "/") -> Iterator[ObjectRecord | str]:
        if delimiter != "/":
            raise ValueError("LocalStore only lists levels with the '/' delimiter")
        base, _, _ = prefix.rpartition("/")
        rel = base + "/" if base else ""
        for key, entry in self._entries(self._path(base) if base else self.root, rel):
            if key.startswith(prefix):
                yield key if entry.is_dir() else self._record(key, entry.stat())

    def stat(self, key: str) -> ObjectRecord:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFoundError(self.uri(key))
        return self._record(key, path.stat())

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError) as err:
            raise ObjectNotFoundError(self.uri(key)) from err

    def read_range(self, key: str, start: int, length: int) -> bytes:
        check_range(start, length)
        try:
            with self._path(key).open("rb") as handle:
                handle.seek(start)
                return handle.read(length)
        except FileNotFoundError as err:
            raise ObjectNotFoundError(self.uri(key)) from err

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._write_atomic(key, lambda handle: handle.write(data))

    def write_file(self, key: str, path: str | os.PathLike[str], content_type: str | None = None) -> None:
        with open(path, "rb") as source:
            self._write_atomic(key, lambda handle: shutil.copyfileobj(source, handle))

    def _write_atomic(self, key: str, fill: Callable[[IO[bytes]], object]) -> None:
        """Written to a temporary file in the same directory, then renamed: readers never see a partial file."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                fill(handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- conditional writes (ConditionalStore) ---------------------------------------------------
    # The version is the SHA-256 of the content. Compare and atomic rename happen under an exclusive flock on
    # the parent directory, so no lock file shows up in listings. Guards writers on this host only.

    def read_versioned(self, key: str) -> tuple[bytes, str]:
        data = self.read_bytes(key)
        return data, hashlib.sha256(data).hexdigest()

    def write_conditional(
        self, key: str, data: bytes, *, if_version: str | None, content_type: str | None = None
    ) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock(path):
            current = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            if current != if_version:
                wanted = "absent" if if_version is None else f"version {if_version}"
                raise PreconditionFailedError(
                    self.uri(key), f"expected {wanted}, found {current or 'absent'}"
                )
            self._write_atomic(key, lambda handle: handle.write(data))
        return hashlib.sha256(data).hexdigest()

    @contextmanager
    def _lock(self, path: Path) -> Iterator[None]:
        import fcntl

        fd = os.open(path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def open_local_store(root: str, connection: Any, endpoint_url: str | None, **store_kwargs: Any) -> LocalStore:
    """The registry's opener: a directory needs no connection or endpoint (both are ignored)."""
    return LocalStore(root, **store_kwargs)
