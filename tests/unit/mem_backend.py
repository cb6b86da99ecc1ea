"""A fourth storage backend, written the way a new cloud would be: one backend module (this file) and one
`registry.register(Backend(...))` call (in the `mem_backend` fixture of test_storage_registry.py).

`mem://bucket/key` objects live in a directory per bucket under MEM_ROOT (set by the fixture); the store
is LocalStore's, with its own scheme, URIs and object URLs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from encord_provider.storage.local import LocalStore

MEM_ROOT: list[Path] = []  # the fixture's directory; a list so the fixture can set it


class MemStore(LocalStore):
    scheme = "mem"

    def __init__(self, bucket: str, account: str) -> None:
        super().__init__(MEM_ROOT[0] / bucket)
        self.bucket = bucket
        self.account = account

    def object_url(self, key: str) -> str:
        return f"https://{self.account}.mem.example/{self.bucket}/{key}"

    def uri(self, key: str) -> str:
        return f"mem://{self.bucket}/{key}"


def open_mem_store(bucket: str, connection: Any, endpoint_url: str | None, **store_kwargs: Any) -> MemStore:
    account = connection.login if connection is not None else "default"
    (MEM_ROOT[0] / bucket).mkdir(parents=True, exist_ok=True)
    return MemStore(bucket, endpoint_url or account)


def mem_bucket_problem(name: str) -> str | None:
    return None if name.isalnum() and name.islower() else "lower-case letters and digits only"
