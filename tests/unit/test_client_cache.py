"""`storage.client_cache`: one storage client per connection, endpoint and credentials, per process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from encord_provider.storage import client_cache
from encord_provider.storage.connections import store_from_connection
from encord_provider.storage.factory import open_store

ENDPOINT = "http://127.0.0.1:9"  # never contacted: building a client sends no request


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    client_cache.clear()
    yield
    client_cache.clear()


def test_a_client_is_built_once_per_key_even_when_threads_race() -> None:
    built: list[int] = []

    def build() -> object:
        time.sleep(0.05)
        built.append(1)
        return object()

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(client_cache.shared_client("k", build)))
               for _ in range(4)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len({id(r) for r in results}) == 1
    assert client_cache.shared_client("other", object) is not results[0]
    assert client_cache.cache_stats() == {"built": 2, "reused": 3, "cached": 2}


def test_stores_on_the_same_endpoint_share_one_s3_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "one")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    source, staging = (
        open_store("s3://media", endpoint_url=ENDPOINT),
        open_store("s3://staging", endpoint_url=ENDPOINT),
    )
    assert source.client is staging.client  # type: ignore[attr-defined]
    assert source.bucket == "media" and staging.bucket == "staging"
    assert open_store("s3://media", endpoint_url="http://127.0.0.1:10").client is not source.client  # type: ignore[attr-defined]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "two")  # other credentials: another client
    assert open_store("s3://media", endpoint_url=ENDPOINT).client is not source.client  # type: ignore[attr-defined]


def test_an_edited_connection_gets_a_new_client(monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"aws://key:{{}}@/?endpoint_url={ENDPOINT.replace(':', '%3A').replace('/', '%2F')}&region_name=us-east-1"
    monkeypatch.setenv("AIRFLOW_CONN_CACHE_AWS", uri.format("first"))
    first, again = store_from_connection("cache_aws", "a"), store_from_connection("cache_aws", "b")
    assert first.client is again.client  # type: ignore[attr-defined]
    monkeypatch.setenv("AIRFLOW_CONN_CACHE_AWS", uri.format("rotated"))
    assert store_from_connection("cache_aws", "a").client is not first.client  # type: ignore[attr-defined]
    assert "first" not in repr(client_cache._clients.keys())  # keys hold a digest, never the secret
