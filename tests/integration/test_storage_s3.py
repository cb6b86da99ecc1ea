"""S3Store against the moto server: the shared contract, paging, addressing style, Airflow connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from encord_provider.storage.connections import store_from_connection
from encord_provider.storage.factory import read_uri, store_from_url, write_uri
from encord_provider.storage.s3 import S3Store

from tests.integration.test_storage_contract import ALL_CHECKS, PAGE_SIZE, listed_keys, seed

BUCKET = "storage-test"


@pytest.fixture
def store(s3_client: Any, moto_endpoint: str) -> S3Store:
    s3_client.create_bucket(Bucket=BUCKET)
    return S3Store(BUCKET, endpoint_url=moto_endpoint, region="us-east-1", page_size=PAGE_SIZE)


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_contract(store: S3Store, check: Callable[..., None]) -> None:
    check(store)


def test_listing_fetches_page_by_page(store: S3Store) -> None:
    keys = [f"paged/{i:03d}" for i in range(10)]
    seed(store, keys)
    calls: list[dict[str, Any]] = []
    store.client.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda params, **_: calls.append(dict(params))
    )
    stream = store.list_objects("paged/")
    first = next(stream)
    assert first.key == "paged/000" and len(calls) == 1  # nothing read ahead
    assert [first.key] + [r.key for r in stream] == keys
    assert [c["MaxKeys"] for c in calls] == [PAGE_SIZE] * 3
    assert "ContinuationToken" in calls[1]


def test_object_urls_name_the_bucket_region_not_the_client_region(s3_client: Any, moto_endpoint: str) -> None:
    s3_client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    store = S3Store(BUCKET, endpoint_url=moto_endpoint, region="us-east-1")
    calls: list[str] = []
    store.client.meta.events.register("before-call.s3.GetBucketLocation", lambda **_: calls.append("x"))
    store.write_bytes("a b/c+d.jpg", b"x")
    store.write_bytes("e.jpg", b"x")
    records = list(store.list_objects())
    assert records[0].url == f"https://{BUCKET}.s3.eu-west-2.amazonaws.com/a%20b/c%2Bd.jpg"
    assert store.stat("e.jpg").url == f"https://{BUCKET}.s3.eu-west-2.amazonaws.com/e.jpg"
    assert len(calls) == 1  # looked up once per store, not per object


@pytest.mark.parametrize(
    ("constraint", "expected"), [(None, "us-east-1"), ("EU", "eu-west-1"), ("ap-south-1", "ap-south-1")]
)
def test_bucket_region_lookup_maps_legacy_location_constraints(
    s3_client: Any, moto_endpoint: str, constraint: str | None, expected: str
) -> None:
    options = {"CreateBucketConfiguration": {"LocationConstraint": constraint}} if constraint else {}
    s3_client.create_bucket(Bucket=BUCKET, **options)
    store = S3Store(BUCKET, endpoint_url=moto_endpoint, region="eu-central-1")
    assert store.bucket_region == expected
    assert store.object_url("k") == f"https://{BUCKET}.s3.{expected}.amazonaws.com/k"


def test_bucket_region_override_and_head_bucket_fallback(
    s3_client: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    override = S3Store(BUCKET, endpoint_url=moto_endpoint, bucket_region="us-west-2")
    assert override.object_url("k") == f"https://{BUCKET}.s3.us-west-2.amazonaws.com/k"
    denied = S3Store(BUCKET, endpoint_url=moto_endpoint, region="us-east-1")

    def refuse(**_: Any) -> None:
        raise denied.client.exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetBucketLocation"
        )

    monkeypatch.setattr(denied.client, "get_bucket_location", refuse)
    assert denied.bucket_region == "eu-west-2"  # from HeadBucket's x-amz-bucket-region


def test_connection_extra_sets_the_bucket_region(
    s3_client: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_client.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_REGIONAL",
        '{"conn_type": "aws", "login": "testing", "password": "testing", "extra": {"region_name": '
        f'"us-east-1", "endpoint_url": "{moto_endpoint}", "bucket_region": "eu-north-1"}}}}',
    )
    store = store_from_connection("aws_regional", BUCKET)
    assert store.object_url("k") == f"https://{BUCKET}.s3.eu-north-1.amazonaws.com/k"


def test_path_addressing_style(s3_client: Any, moto_endpoint: str) -> None:
    s3_client.create_bucket(Bucket=BUCKET)
    store = S3Store(BUCKET, endpoint_url=moto_endpoint, region="us-east-1", addressing_style="path")
    store.write_bytes("k.txt", b"path style")
    assert store.read_bytes("k.txt") == b"path style"


def test_store_from_airflow_connection(s3_client: Any, moto_endpoint: str) -> None:
    s3_client.create_bucket(Bucket=BUCKET)
    store = store_from_connection("aws_test", BUCKET, page_size=PAGE_SIZE)
    assert isinstance(store, S3Store)
    assert store.endpoint_url == moto_endpoint and store.region == "us-east-1"
    seed(store, ["c/1.jpg", "c/2.jpg", "c/3.jpg", "c/4.jpg", "c/5.jpg"])
    assert listed_keys(store, "c/") == [f"c/{i}.jpg" for i in range(1, 6)]
    via_url, prefix = store_from_url(f"s3://{BUCKET}/c/", conn_id="aws_test")
    assert prefix == "c/" and listed_keys(via_url, prefix) == listed_keys(store, "c/")  # type: ignore[arg-type]


def test_uri_helpers_pass_chunk_files(s3_client: Any, moto_endpoint: str) -> None:
    s3_client.create_bucket(Bucket=BUCKET)
    uri = f"s3://{BUCKET}/chunks/run 1/chunk-0001.json"
    assert write_uri(uri, b"[1, 2]", conn_id="aws_test") == uri
    assert read_uri(uri, endpoint_url=moto_endpoint) == b"[1, 2]"
    body = s3_client.get_object(Bucket=BUCKET, Key="chunks/run 1/chunk-0001.json")["Body"].read()
    assert body == b"[1, 2]"


def test_endpoint_url_overrides_the_connection(
    s3_client: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_client.create_bucket(Bucket=BUCKET)
    s3_client.put_object(Bucket=BUCKET, Key="k.txt", Body=b"via override")
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_ELSEWHERE",
        '{"conn_type": "aws", "login": "testing", "password": "testing", '
        '"extra": {"region_name": "eu-west-2", "endpoint_url": "http://127.0.0.1:9"}}',
    )
    store, _ = store_from_url(f"s3://{BUCKET}/", conn_id="aws_elsewhere", endpoint_url=moto_endpoint)
    assert store.read_bytes("k.txt") == b"via override"
    # the connection's region_name is the client's; the URL names the bucket's own region (us-east-1)
    assert store.object_url("k.txt") == f"https://{BUCKET}.s3.us-east-1.amazonaws.com/k.txt"
