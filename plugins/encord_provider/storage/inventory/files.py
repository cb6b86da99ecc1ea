"""Data files are copied from the inventory store to a local temporary file before they are parsed.

One sequential download per file, checked against the manifest's size and MD5 before any row is read,
so a truncated or corrupted file yields no record at all. ORC and Parquet readers then seek in a local
file instead of sending a ranged request per column chunk. Memory stays at one chunk; disk holds one data
file at a time (the temporary directory is `TMPDIR`'s).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import ObjectNotFoundError
from encord_provider.storage.inventory.errors import ChecksumMismatchError, InventoryError
from encord_provider.storage.inventory.model import DataFile

CHUNK_BYTES = 8 * 1024 * 1024


@contextmanager
def local_copy(store: ObjectStore, data_file: DataFile, *, verify: bool) -> Iterator[Path]:
    """A local copy of `data_file`, deleted on exit. Its size is always checked when the manifest declares
    one; its MD5 when `verify` and the manifest declares one."""
    uri = store.uri(data_file.key)
    digest = hashlib.md5() if verify and data_file.md5 else None
    with tempfile.NamedTemporaryFile(prefix="inventory-", suffix="-" + Path(data_file.key).name[-40:]) as tmp:
        size = 0
        while True:
            try:
                chunk = store.read_range(data_file.key, size, CHUNK_BYTES)
            except ObjectNotFoundError as err:
                raise InventoryError(uri, "data file listed in the manifest does not exist") from err
            tmp.write(chunk)
            if digest is not None:
                digest.update(chunk)
            size += len(chunk)
            if len(chunk) < CHUNK_BYTES:
                break
        tmp.flush()
        if data_file.size is not None and size != data_file.size:
            raise ChecksumMismatchError(
                uri, f"data file has {size} bytes, the manifest says {data_file.size}"
            )
        if digest is not None and digest.hexdigest() != data_file.md5:
            raise ChecksumMismatchError(
                uri, f"data file MD5 is {digest.hexdigest()}, the manifest says {data_file.md5}"
            )
        yield Path(tmp.name)
