"""AzureBlobStore against Azurite: the shared contract, paging, start_after by level skipping, connections."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from encord_provider.storage.azure import AzureBlobStore
from encord_provider.storage.connections import store_from_connection
from encord_provider.storage.factory import read_uri, store_from_url, write_uri

from tests.integration.test_storage_contract import ALL_CHECKS, PAGE_SIZE, listed_keys, seed
from tests.services import AZURITE_ACCOUNT, AZURITE_KEY


@pytest.fixture
def container(blob_service: Any) -> str:
    name = f"storage-test-{uuid.uuid4().hex[:12]}"
    blob_service.create_container(name)
    return name


@pytest.fixture
def store(blob_service: Any, container: str) -> AzureBlobStore:
    return AzureBlobStore(container, service=blob_service, page_size=PAGE_SIZE)


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_contract(store: AzureBlobStore, check: Callable[..., None]) -> None:
    check(store)


def count_requests(store: AzureBlobStore) -> list[str]:
    """URLs of the list requests the store's container client sends from now on."""
    urls: list[str] = []
    original = store.container.list_blobs
    original_walk = store.container.walk_blobs

    def hook(request: Any) -> None:
        urls.append(request.http_request.url)

    store.container.list_blobs = lambda *a, **k: original(*a, raw_request_hook=hook, **k)  # type: ignore[method-assign]
    store.container.walk_blobs = lambda *a, **k: original_walk(*a, raw_request_hook=hook, **k)  # type: ignore[method-assign]
    return urls


def test_listing_fetches_page_by_page(store: AzureBlobStore) -> None:
    keys = [f"paged/{i:03d}" for i in range(10)]
    seed(store, keys)
    urls = count_requests(store)
    stream = store.list_objects("paged/")
    first = next(stream)
    assert first.key == "paged/000" and len(urls) == 1
    assert [first.key] + [r.key for r in stream] == keys
    assert len(urls) == 3 and all(f"maxresults={PAGE_SIZE}" in u for u in urls)
    assert "marker=" in urls[1]


def test_start_after_skips_whole_earlier_partitions(store: AzureBlobStore) -> None:
    keys = [f"events/dt=2024-05-{d:02d}/part-{i}.json" for d in range(1, 9) for i in range(6)]
    seed(store, keys)
    urls = count_requests(store)
    after = "events/dt=2024-05-06/part-2.json"
    assert listed_keys(store, "events/", start_after=after) == [k for k in keys if k > after]
    # one level listing of events/ (2 pages of 4 prefixes), one of dt=2024-05-06/ (2 pages), then 2 flat
    # listings of 2 pages each; the 30 keys of the first five days are never read.
    assert len(urls) == 2 + 2 + 2 * 2


def test_object_urls_use_the_account_name(store: AzureBlobStore, container: str) -> None:
    store.write_bytes("a b/c+d.jpg", b"x")
    [record] = store.list_objects()
    assert record.url == f"https://{AZURITE_ACCOUNT}.blob.core.windows.net/{container}/a%20b/c%2Bd.jpg"


def test_store_from_airflow_connection(container: str, azurite_conn_str: str) -> None:
    store = store_from_connection("wasb_test", container, page_size=PAGE_SIZE)
    assert isinstance(store, AzureBlobStore) and store.account == AZURITE_ACCOUNT
    seed(store, [f"c/{i}.jpg" for i in range(1, 6)])
    assert listed_keys(store, "c/") == [f"c/{i}.jpg" for i in range(1, 6)]
    via_url, prefix = store_from_url(f"az://{container}/c/", conn_id="wasb_test")
    assert prefix == "c/" and listed_keys(via_url, prefix) == listed_keys(store, "c/")  # type: ignore[arg-type]


def test_connection_with_account_key_instead_of_connection_string(
    container: str, azurite_conn_str: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_url = azurite_conn_str.split("BlobEndpoint=", 1)[1].rstrip(";")
    monkeypatch.setenv(
        "AIRFLOW_CONN_WASB_KEYONLY",
        f'{{"conn_type": "wasb", "host": "{account_url}", "login": "{AZURITE_ACCOUNT}", "password": "{AZURITE_KEY}"}}',
    )
    store = store_from_connection("wasb_keyonly", container)
    store.write_bytes("k.txt", b"key auth")
    assert store.read_bytes("k.txt") == b"key auth"


def test_uri_helpers_with_env_connection_string(
    container: str, azurite_conn_str: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite_conn_str)
    uri = f"az://{container}/chunks/run 1/chunk-0001.json"
    assert write_uri(uri, b"[1, 2]") == uri
    assert read_uri(uri, conn_id="wasb_test") == b"[1, 2]"


def test_endpoint_url_overrides_the_connection_string(
    container: str, azurite_conn_str: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_url = azurite_conn_str.split("BlobEndpoint=", 1)[1].rstrip(";")
    elsewhere = azurite_conn_str.replace(account_url, f"http://127.0.0.1:9/{AZURITE_ACCOUNT}")
    monkeypatch.setenv(
        "AIRFLOW_CONN_WASB_ELSEWHERE",
        f'{{"conn_type": "wasb", "extra": {{"connection_string": "{elsewhere}"}}}}',
    )
    store, _ = store_from_url(f"az://{container}/", conn_id="wasb_elsewhere", endpoint_url=account_url)
    store.write_bytes("k.txt", b"via override")
    assert store.read_bytes("k.txt") == b"via override"


def test_ingest_plan_accepts_azure_listing_order(blob_service: Any, container: str) -> None:
    """A sorted-input run on a valid container: 😀 (a surrogate pair) lists before （ on Azure."""
    from encord_provider.config.ingest import IngestPipeline
    from encord_provider.ledger import Ledger
    from encord_provider.operators.ingest_plan import RunOptions, plan_run

    store = AzureBlobStore(container, service=blob_service, page_size=PAGE_SIZE)
    seed(store, ["in/😀.jpg", "in/（1）.jpg", "in/a.jpg"])
    assert listed_keys(store, "in/") == ["in/a.jpg", "in/😀.jpg", "in/（1）.jpg"]
    pipeline = IngestPipeline.model_validate(
        {
            "name": "azure_order",
            "source": {"cloud": "azure", "bucket": container, "prefix": "in/"},
            "integration": {"title": "t"},
            "folder": {"name": "f"},
            "staging": {"uri": f"az://{container}/staging"},
        }
    )
    ledger = Ledger(store, "staging/ledger/azure_order").load()
    result = plan_run(pipeline, RunOptions(), "run1", store, store, ledger)
    assert (result.planned, result.rejected) == (3, 0)
