"""URI parsing, store construction from URIs, file:// reads/writes (no cloud needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from encord_provider.storage.errors import ObjectNotFoundError, UnsupportedUriError
from encord_provider.storage.factory import ParsedUri, parse_uri, read_uri, store_from_url, write_uri
from encord_provider.storage.local import LocalStore
from encord_provider.storage.s3 import S3Store


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/prefix/a b+c.jpg", ParsedUri("s3", "bucket", "prefix/a b+c.jpg")),
        ("s3://bucket", ParsedUri("s3", "bucket", "")),
        ("s3://bucket/", ParsedUri("s3", "bucket", "")),
        ("gs://b/x/%20y", ParsedUri("gs", "b", "x/%20y")),
        ("gcs://b/x", ParsedUri("gs", "b", "x")),
        ("az://container/dir/", ParsedUri("az", "container", "dir/")),
        ("S3://Bucket/K", ParsedUri("s3", "Bucket", "K")),
        ("file:///tmp/chunks/c%201.json", ParsedUri("file", "/", "tmp/chunks/c 1.json")),
    ],
)
def test_parse_uri(uri: str, expected: ParsedUri) -> None:
    assert parse_uri(uri) == expected


def test_parsed_uri_str_round_trips() -> None:
    for uri in ("s3://b/k/x.json", "gs://b/k", "az://c/k"):
        assert str(parse_uri(uri)) == uri


@pytest.mark.parametrize(
    "uri", ["http://b/k", "bucket/key", "s3:///key", "ftp://x/y", "file://relative/path"]
)
def test_parse_uri_rejects_with_the_uri_named(uri: str) -> None:
    with pytest.raises(UnsupportedUriError) as info:
        parse_uri(uri)
    assert repr(uri) in str(info.value)


def test_store_from_url_s3_uses_endpoint_and_returns_prefix() -> None:
    store, prefix = store_from_url(
        "s3://my-bucket/in/2024/",
        endpoint_url="http://127.0.0.1:9",
        region="eu-west-2",
        page_size=7,
        bucket_region="eu-west-2",
    )
    assert isinstance(store, S3Store)
    assert (store.bucket, prefix, store.page_size, store.region) == ("my-bucket", "in/2024/", 7, "eu-west-2")
    assert store.object_url("in/a b.jpg") == "https://my-bucket.s3.eu-west-2.amazonaws.com/in/a%20b.jpg"
    assert store.uri("in/a b.jpg") == "s3://my-bucket/in/a b.jpg"


def test_s3_store_url_styles() -> None:
    otc = S3Store("bkt", endpoint_url="https://obs.eu-de.otc.t-systems.com")
    assert otc.object_url("a/b.png") == "https://bkt.obs.eu-de.otc.t-systems.com/a/b.png"
    mrap = S3Store("bkt", region="us-east-1", mrap_arn="arn:aws:s3::1:accesspoint/abc")
    assert mrap.object_url("k") == "https://arn:aws:s3::1:accesspoint/abc.mrap.s3-accesspoint.amazonaws.com/k"
    endpoint = S3Store("bkt", endpoint_url="http://minio:9000", url_style="endpoint")
    assert endpoint.object_url("a b") == "http://minio:9000/bkt/a%20b"
    with pytest.raises(ValueError, match="page_size must be within 1..1000"):
        S3Store("bkt", region="us-east-1", page_size=5000)


def test_azure_needs_a_connection_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    with pytest.raises(UnsupportedUriError, match="AZURE_STORAGE_CONNECTION_STRING"):
        store_from_url("az://container/prefix")


def test_azure_account_from_env_connection_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        "DefaultEndpointsProtocol=https;AccountName=myaccount;AccountKey=a2V5;EndpointSuffix=core.windows.net",
    )
    store, prefix = store_from_url("az://encordcontainer/in/")
    assert prefix == "in/"
    assert store.object_url("in/x.png") == "https://myaccount.blob.core.windows.net/encordcontainer/in/x.png"


def test_file_uris_write_read_and_list(tmp_path: Path) -> None:
    uri = (tmp_path / "chunks" / "chunk 0001.json").as_uri()
    assert write_uri(uri, b'{"images": []}') == uri
    assert read_uri(uri) == b'{"images": []}'
    store, prefix = store_from_url((tmp_path / "chunks").as_uri())
    assert isinstance(store, LocalStore) and prefix == ""
    assert [r.key for r in store.list_objects()] == ["chunk 0001.json"]
    store, prefix = store_from_url((tmp_path / "chunks" / "chunk ").as_uri())
    assert prefix == "chunk " and [r.key for r in store.list_objects(prefix)] == ["chunk 0001.json"]
    with pytest.raises(ObjectNotFoundError, match="chunk%202.json"):
        read_uri((tmp_path / "chunks" / "chunk 2.json").as_uri())
    with pytest.raises(UnsupportedUriError, match="names no object"):
        read_uri("s3://bucket/dir/")


def test_local_store_lists_in_s3_key_order(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    keys = ["a-b", "a/x", "a/y/z", "a0", "b", "é/1", "a/y.txt"]
    for key in keys:
        store.write_bytes(key, key.encode())
    assert [r.key for r in store.list_objects()] == sorted(keys)
    assert [r.key for r in store.list_objects("a/")] == ["a/x", "a/y.txt", "a/y/z"]
    assert [r.key for r in store.list_objects("a", start_after="a/x")] == ["a/y.txt", "a/y/z", "a0"]
    level = [e if isinstance(e, str) else e.key for e in store.list_level("a/")]
    assert level == ["a/x", "a/y.txt", "a/y/"]
    assert store.read_range("a/y/z", 2, 10) == b"y/z"
    assert store.read_range("a/y/z", 99, 10) == b""
    assert store.stat("b").size == 1 and store.exists("b") and not store.exists("nope")
    with pytest.raises(ValueError, match="escapes the store root"):
        store.read_bytes("../outside")
