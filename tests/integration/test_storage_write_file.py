"""`write_file` streams a local file into every store: multipart on S3 (moto), resumable chunks on GCS
(fake-gcs-server), blocks on Azure (Azurite), an atomic copy locally; export uploads go through it."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from encord_provider.exports.upload import upload_file
from encord_provider.storage.azure import AzureBlobStore
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.gcs import GCS_CHUNK_UNIT, GCSStore
from encord_provider.storage.local import LocalStore
from encord_provider.storage.s3 import S3_MIN_PART, S3Store

MiB = 1024 * 1024
BIG_SIZE = 9 * MiB  # above the S3 part size and GCS's 8 MiB single-request limit
KEY = "exports/v 1/labels+all.json"


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("write-file") / "big.bin"
    block = hashlib.sha256(b"seed").digest() * (MiB // 32)  # 1 MiB of non-repeating-looking bytes
    with path.open("wb") as handle:
        for i in range(BIG_SIZE // MiB):
            handle.write(bytes([i]) + block[1:])
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_stored(store: ObjectStore, key: str, source: Path) -> None:
    data = store.read_bytes(key)
    assert len(data) == source.stat().st_size
    assert sha256(data) == sha256(source.read_bytes())


@pytest.fixture
def s3_store(s3_client: Any, moto_endpoint: str) -> S3Store:
    s3_client.create_bucket(Bucket="write-file")
    return S3Store(
        "write-file",
        endpoint_url=moto_endpoint,
        region="us-east-1",
        multipart_threshold=S3_MIN_PART,
        multipart_chunksize=S3_MIN_PART,
    )


def test_s3_large_file_goes_up_in_parts(s3_store: S3Store, s3_client: Any, big_file: Path) -> None:
    s3_store.write_file(KEY, big_file, "application/json")
    head = s3_client.head_object(Bucket="write-file", Key=KEY)
    assert head["ETag"].strip('"').endswith("-2")  # a multipart ETag names its part count
    assert head["ContentType"] == "application/json"
    assert_stored(s3_store, KEY, big_file)


def test_s3_small_file_is_a_single_put(s3_store: S3Store, s3_client: Any, tmp_path: Path) -> None:
    small = tmp_path / "small.json"
    small.write_bytes(b'{"a": 1}')
    s3_store.write_file("small.json", small)
    etag = s3_client.head_object(Bucket="write-file", Key="small.json")["ETag"].strip('"')
    assert etag == hashlib.md5(b'{"a": 1}').hexdigest()
    assert s3_store.read_bytes("small.json") == b'{"a": 1}'


def test_s3_rejects_parts_below_the_s3_minimum(moto_endpoint: str) -> None:
    with pytest.raises(ValueError, match="multipart_chunksize must be at least"):
        S3Store("b", endpoint_url=moto_endpoint, multipart_chunksize=MiB)


def test_gcs_large_file_goes_up_in_resumable_chunks(gcs_client: Any, big_file: Path) -> None:
    bucket = f"write-file-{uuid.uuid4().hex[:12]}"
    gcs_client.create_bucket(bucket)
    chunk = 16 * GCS_CHUNK_UNIT  # 4 MiB -> 3 chunks for 9 MiB
    store = GCSStore(bucket, client=gcs_client, upload_chunk_size=chunk)
    sent: list[int] = []
    http = gcs_client._http
    original = http.request

    def spy(method: str, url: str, data: Any = None, **kwargs: Any) -> Any:
        if method == "PUT" and isinstance(data, bytes | bytearray):
            sent.append(len(data))
        return original(method, url, data=data, **kwargs)

    http.request = spy
    try:
        store.write_file(KEY, big_file, "application/json")
    finally:
        http.request = original
    assert sent == [chunk, chunk, BIG_SIZE - 2 * chunk]  # never more than one chunk per request
    assert gcs_client.bucket(bucket).get_blob(KEY).content_type == "application/json"
    assert_stored(store, KEY, big_file)


def test_gcs_rejects_chunks_off_the_256k_grid(gcs_client: Any) -> None:
    with pytest.raises(ValueError, match="multiple of 262144"):
        GCSStore("b", client=gcs_client, upload_chunk_size=GCS_CHUNK_UNIT + 1)


def test_azure_large_file_goes_up_in_blocks(azurite_conn_str: str, big_file: Path) -> None:
    store = AzureBlobStore(
        f"write-file-{uuid.uuid4().hex[:12]}",
        connection_string=azurite_conn_str,
        max_single_put_size=4 * MiB,
        max_block_size=4 * MiB,
    )
    store.container.create_container()
    store.write_file(KEY, big_file, "application/json")
    committed, _ = store.container.get_blob_client(KEY).get_block_list("committed")
    assert [block.size for block in committed] == [4 * MiB, 4 * MiB, MiB]
    props = store.container.get_blob_client(KEY).get_blob_properties()
    assert props.content_settings.content_type == "application/json"
    assert_stored(store, KEY, big_file)


def test_azure_write_file_overwrites(azurite_conn_str: str, tmp_path: Path) -> None:
    store = AzureBlobStore(f"write-file-{uuid.uuid4().hex[:12]}", connection_string=azurite_conn_str)
    store.container.create_container()
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"first version")
    second.write_bytes(b"second")
    store.write_file("k", first)
    store.write_file("k", second)
    assert store.read_bytes("k") == b"second"


def test_local_copy_is_atomic_and_leaves_no_temporaries(tmp_path: Path, big_file: Path) -> None:
    store = LocalStore(tmp_path / "root")
    store.write_file(KEY, big_file)
    assert_stored(store, KEY, big_file)
    target_dir = tmp_path / "root" / "exports" / "v 1"
    assert os.listdir(target_dir) == ["labels+all.json"]


def test_local_failed_copy_keeps_the_previous_version(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "root")
    store.write_bytes("k", b"old")
    with pytest.raises(FileNotFoundError):
        store.write_file("k", tmp_path / "missing")
    assert store.read_bytes("k") == b"old"
    assert os.listdir(tmp_path / "root") == ["k"]


def test_export_upload_streams_through_write_file(
    s3_store: S3Store, big_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """upload_file must never read the export file whole when the store can stream it."""

    def no_whole_reads(*_: Any, **__: Any) -> bytes:
        raise AssertionError("export file read whole into memory")

    monkeypatch.setattr(Path, "read_bytes", no_whole_reads)
    monkeypatch.setattr(s3_store, "write_bytes", no_whole_reads)
    upload_file(s3_store, KEY, big_file, "application/json")
    monkeypatch.undo()
    assert_stored(s3_store, KEY, big_file)
