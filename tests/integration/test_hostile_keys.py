"""Hostile but legal keys on every backend: each URL a manifest carries fetches exactly its own object.

The manifest URLs are re-pointed at the local emulator (same path, same encoding) and fetched with
`requests`, which normalises URLs the RFC 3986 way, as Encord's readers may. Keys whose URL would name
another object (dot segments) must be rejected instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from encord_provider.manifests import LocalDirSink, ManifestConfig, build_manifests
from encord_provider.storage.base import ObjectStore

COMMON = [
    "h/space name.jpg",
    "h/plus+sign.jpg",
    "h/pct%41.jpg",
    "h/pct%.jpg",
    "h/q?x.jpg",
    "h/hash#x.jpg",
    "h/semi;colon=eq&amp@at.jpg",
    "h/ünï/😀.jpg",
    "h/（full）.jpg",
    "h/tilde~'quote'.jpg",
    "h/" + "a-long-folder/" * 70 + "x.jpg",  # ~1,000 bytes, S3's limit is 1,024
]
DOT_SEGMENTS = ["h/a/../b.jpg", "h/./c.jpg"]
S3_ONLY = ["h/" + "long-" * 180 + ".jpg", "h//double.jpg", "/lead.jpg", "h/back\\slash.jpg", "h/ctl\x01.jpg"]


def build_and_fetch(
    store: ObjectStore, keys: list[str], tmp_path: Path, to_local: Any, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    summary = build_manifests(store.list_objects(""), ManifestConfig(), LocalDirSink(tmp_path), store=store)
    manifest = json.loads((tmp_path / "chunk-00000.json").read_text())
    index = [json.loads(line) for line in (tmp_path / "chunk-00000.objects.jsonl").read_text().splitlines()]
    assert [image["objectUrl"] for image in manifest["images"]] == [
        line["objects"][0]["url"] for line in index
    ]
    fetched = {}
    for line in index:
        [obj] = line["objects"]
        answer = requests.get(to_local(obj["url"]), headers=headers, timeout=30)
        fetched[obj["key"]] = answer.content if answer.ok else answer.status_code
    rejections = [json.loads(line) for line in (tmp_path / "rejections.jsonl").read_text().splitlines()]
    return {"fetched": fetched, "rejected": {r["key"]: r["category"] for r in rejections}, "summary": summary}


def check(result: dict[str, Any], keys: list[str]) -> None:
    assert result["rejected"] == dict.fromkeys([k for k in keys if k in DOT_SEGMENTS], "unsafe_url")
    assert result["fetched"] == {key: key.encode() for key in keys if key not in DOT_SEGMENTS}


def test_s3_path_style_urls(s3_client: Any, moto_endpoint: str, tmp_path: Path) -> None:
    from encord_provider.storage.s3 import S3Store

    keys = COMMON + DOT_SEGMENTS + S3_ONLY
    s3_client.create_bucket(Bucket="hostile-keys")
    for key in keys:
        s3_client.put_object(Bucket="hostile-keys", Key=key, Body=key.encode(), ACL="public-read")
    store = S3Store("hostile-keys", endpoint_url=moto_endpoint, url_style="endpoint")
    check(build_and_fetch(store, keys, tmp_path, lambda url: url), keys)


def test_azure_urls(blob_service: Any, azurite_conn_str: str, tmp_path: Path) -> None:
    from encord_provider.storage.azure import AzureBlobStore

    container = blob_service.get_container_client("hostile-keys")
    if container.exists():
        container.delete_container()
    container.create_container(public_access="blob")
    keys = COMMON + ["h//double.jpg"]  # the Azure SDK cannot even write dot-segment names (auth fails)
    for key in keys:
        container.upload_blob(key, key.encode())
    store = AzureBlobStore("hostile-keys", connection_string=azurite_conn_str)
    local = blob_service.url.rstrip("/")
    canonical = f"https://{store.account}.blob.core.windows.net"
    check(build_and_fetch(store, keys, tmp_path, lambda url: url.replace(canonical, local)), keys)


def test_gcs_urls(gcs_client: Any, gcs_endpoint: str, tmp_path: Path) -> None:
    from encord_provider.storage.gcs import GCSStore

    bucket = gcs_client.bucket("hostile-keys")
    if not bucket.exists():
        bucket = gcs_client.create_bucket("hostile-keys")
    for blob in bucket.list_blobs():
        blob.delete()
    keys = list(COMMON)  # fake-gcs-server's filesystem backend stores `a/../b` as `b`: no dot segments here
    for key in keys:
        bucket.blob(key).upload_from_string(key.encode())
    store = GCSStore("hostile-keys", client=gcs_client)
    result = build_and_fetch(  # fake-gcs-server serves /<bucket>/<key> paths for this Host only
        store, keys, tmp_path, lambda url: url.replace("https://storage.cloud.google.com", gcs_endpoint),
        headers={"Host": "storage.googleapis.com"},
    )  # fmt: skip
    check(result, keys)


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING")
