"""GCSStore against fake-gcs-server: the shared contract, paging, URL styles, Airflow connection."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from encord_provider.storage.connections import store_from_connection
from encord_provider.storage.factory import read_uri, store_from_url, write_uri
from encord_provider.storage.gcs import GCSStore

from tests.integration.test_storage_contract import ALL_CHECKS, PAGE_SIZE, listed_keys, seed


@pytest.fixture
def bucket(gcs_client: Any) -> str:
    name = f"storage-test-{uuid.uuid4().hex[:12]}"
    gcs_client.create_bucket(name)
    return name


@pytest.fixture
def store(gcs_client: Any, bucket: str) -> GCSStore:
    return GCSStore(bucket, client=gcs_client, page_size=PAGE_SIZE)


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_contract(store: GCSStore, check: Callable[..., None]) -> None:
    check(store, markers=False)  # fake-gcs-server's filesystem backend drops directory markers


def test_listing_fetches_page_by_page(store: GCSStore) -> None:
    keys = [f"paged/{i:03d}" for i in range(10)]
    seed(store, keys)
    requests: list[dict[str, Any]] = []
    connection = store.client._connection
    original = connection.api_request

    def spy(*args: Any, **kwargs: Any) -> Any:
        requests.append(dict(kwargs.get("query_params") or {}))
        return original(*args, **kwargs)

    connection.api_request = spy
    stream = store.list_objects("paged/")
    first = next(stream)
    assert first.key == "paged/000" and len(requests) == 1
    assert [first.key] + [r.key for r in stream] == keys
    assert [q["maxResults"] for q in requests] == [PAGE_SIZE] * 3
    assert "pageToken" in requests[1]


def test_url_styles(gcs_client: Any, bucket: str) -> None:
    https = GCSStore(bucket, client=gcs_client)
    gs = GCSStore(bucket, client=gcs_client, url_style="gs")
    https.write_bytes("a b/c+d.jpg", b"x")
    assert [r.url for r in https.list_objects()] == [
        f"https://storage.cloud.google.com/{bucket}/a%20b/c%2Bd.jpg"
    ]
    assert [r.url for r in gs.list_objects()] == [f"gs://{bucket}/a b/c+d.jpg"]


def test_store_from_airflow_connection(bucket: str, gcs_endpoint: str) -> None:
    store = store_from_connection("gcp_test", bucket, page_size=PAGE_SIZE)
    assert isinstance(store, GCSStore)
    assert store.client.project == "test-project"
    seed(store, [f"c/{i}.jpg" for i in range(1, 6)])
    assert listed_keys(store, "c/") == [f"c/{i}.jpg" for i in range(1, 6)]
    via_url, prefix = store_from_url(f"gs://{bucket}/c/", conn_id="gcp_test")
    assert prefix == "c/" and listed_keys(via_url, prefix) == listed_keys(store, "c/")  # type: ignore[arg-type]


def test_uri_helpers_with_endpoint(bucket: str, gcs_endpoint: str, gcs_client: Any) -> None:
    uri = f"gs://{bucket}/chunks/run 1/chunk-0001.json"
    assert write_uri(uri, b"[1, 2]", endpoint_url=gcs_endpoint, anonymous=True, project="test-project") == uri
    assert read_uri(uri, conn_id="gcp_test") == b"[1, 2]"
    assert gcs_client.bucket(bucket).blob("chunks/run 1/chunk-0001.json").download_as_bytes() == b"[1, 2]"


def test_endpoint_url_overrides_the_connection(
    bucket: str, gcs_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_GCP_ELSEWHERE",
        '{"conn_type": "google_cloud_platform", '
        '"extra": {"project": "p", "endpoint_url": "http://127.0.0.1:9", "anonymous": true}}',
    )
    store, _ = store_from_url(f"gs://{bucket}/", conn_id="gcp_elsewhere", endpoint_url=gcs_endpoint)
    store.write_bytes("k.txt", b"via override")
    assert store.read_bytes("k.txt") == b"via override"
