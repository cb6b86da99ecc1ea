"""Conditional writes (ConditionalStore) on every backend, against moto, fake-gcs-server, Azurite and disk.

Each emulator was checked to honour the precondition itself (S3 If-None-Match / If-Match, GCS
ifGenerationMatch, Azure If-None-Match / If-Match): a losing write is refused by the server, not by a read
our code does first. The race test starts several writers at once; exactly one may win.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from encord_provider.storage.base import ConditionalStore
from encord_provider.storage.errors import ObjectNotFoundError, PreconditionFailedError

KEY = "locks/lease.json"


@pytest.fixture(params=["s3", "gcs", "azure", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConditionalStore]:
    name = f"cond-{uuid.uuid4().hex[:10]}"
    if request.param == "s3":
        from encord_provider.storage.s3 import S3Store

        s3_client: Any = request.getfixturevalue("s3_client")
        s3_client.create_bucket(Bucket=name)
        yield S3Store(name, endpoint_url=request.getfixturevalue("moto_endpoint"), region="us-east-1")
    elif request.param == "gcs":
        from encord_provider.storage.gcs import GCSStore

        gcs_client: Any = request.getfixturevalue("gcs_client")
        gcs_client.create_bucket(name)
        yield GCSStore(name, client=gcs_client)
    elif request.param == "azure":
        from encord_provider.storage.azure import AzureBlobStore

        service: Any = request.getfixturevalue("blob_service")
        service.create_container(name)
        yield AzureBlobStore(name, service=service)
    else:
        from encord_provider.storage.local import LocalStore

        yield LocalStore(tmp_path / name)


def test_create_only_if_absent(store: ConditionalStore) -> None:
    version = store.write_conditional(KEY, b"first", if_version=None, content_type="application/json")
    assert store.read_versioned(KEY) == (b"first", version)
    with pytest.raises(PreconditionFailedError, match="lease.json"):
        store.write_conditional(KEY, b"second", if_version=None)
    assert store.read_bytes(KEY) == b"first"


def test_replace_only_if_unchanged(store: ConditionalStore) -> None:
    first = store.write_conditional(KEY, b"one", if_version=None)
    second = store.write_conditional(KEY, b"two", if_version=first)
    assert second != first
    with pytest.raises(PreconditionFailedError):
        store.write_conditional(KEY, b"stale writer", if_version=first)
    assert store.read_versioned(KEY) == (b"two", second)


def test_replace_of_a_missing_object_fails(store: ConditionalStore) -> None:
    version = store.write_conditional(KEY, b"one", if_version=None)
    with pytest.raises(PreconditionFailedError):
        store.write_conditional("locks/other.json", b"x", if_version=version)
    with pytest.raises(ObjectNotFoundError):
        store.read_versioned("locks/other.json")


def _race(writers: int, write: Callable[[int], object]) -> list[int]:
    """Start `writers` threads at once; returns the indexes whose write won (the others must lose)."""
    barrier = threading.Barrier(writers)
    winners: list[int] = []
    errors: list[BaseException] = []

    def attempt(index: int) -> None:
        barrier.wait()
        try:
            write(index)
            winners.append(index)
        except PreconditionFailedError:
            pass
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return winners


def test_racing_creators_have_one_winner(store: ConditionalStore) -> None:
    winners = _race(
        6, lambda i: store.write_conditional(KEY, f"writer {i}".encode(), if_version=None) and None
    )
    assert len(winners) == 1, winners
    assert store.read_bytes(KEY) == f"writer {winners[0]}".encode()


def test_racing_replacers_have_one_winner(store: ConditionalStore) -> None:
    base = store.write_conditional(KEY, b"base", if_version=None)
    winners = _race(6, lambda i: store.write_conditional(KEY, f"new {i}".encode(), if_version=base))
    assert len(winners) == 1, winners
    assert store.read_bytes(KEY) == f"new {winners[0]}".encode()
