"""The emulator fixtures work: put, list with paging, read back, on all three clouds."""

from __future__ import annotations


def test_s3_put_list_paged_read(s3_client) -> None:  # type: ignore[no-untyped-def]
    s3_client.create_bucket(Bucket="fixture-check")
    for i in range(7):
        s3_client.put_object(Bucket="fixture-check", Key=f"data/obj-{i}.txt", Body=f"body {i}".encode())
    pages = list(
        s3_client.get_paginator("list_objects_v2").paginate(
            Bucket="fixture-check", Prefix="data/", PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(p["Contents"]) for p in pages] == [3, 3, 1]
    body = s3_client.get_object(Bucket="fixture-check", Key="data/obj-5.txt")["Body"].read()
    assert body == b"body 5"


def test_gcs_put_list_paged_read(gcs_client) -> None:  # type: ignore[no-untyped-def]
    bucket = gcs_client.create_bucket("fixture-check")
    for i in range(7):
        bucket.blob(f"data/obj-{i}.txt").upload_from_string(f"body {i}")
    pages = list(gcs_client.list_blobs("fixture-check", prefix="data/", page_size=3).pages)
    assert [len(list(p)) for p in pages] == [3, 3, 1]
    assert bucket.blob("data/obj-5.txt").download_as_bytes() == b"body 5"


def test_azure_put_list_paged_read(blob_service) -> None:  # type: ignore[no-untyped-def]
    container = blob_service.create_container("fixture-check")
    for i in range(7):
        container.upload_blob(f"data/obj-{i}.txt", f"body {i}".encode())
    pages = list(container.list_blobs(name_starts_with="data/", results_per_page=3).by_page())
    assert [len(list(p)) for p in pages] == [3, 3, 1]
    assert container.download_blob("data/obj-5.txt").readall() == b"body 5"
