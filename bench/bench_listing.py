"""Listing throughput: our stores versus the raw SDK listing on the same emulator bucket.

S3: one moto bucket of BENCH_S3_OBJECTS (default 20,000) keys, `S3Store.list_objects` against boto3's
`list_objects_v2` paginator (1000 keys a page both), alternating repetitions; also `list_parallel`.
GCS (fake-gcs-server) and Azure (Azurite) get smaller buckets (BENCH_GCS_OBJECTS / BENCH_AZURE_OBJECTS,
default 3,000; 0 skips) compared with `list_blobs` at the same page size. Every raw baseline reads the
same four fields our records carry (key, size, etag, last-modified).

Run: `python -m bench.bench_listing` (prints JSON). The target is ours/raw >= 0.95.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from encord_provider.storage.parallel import list_parallel

from tests.services import AzuriteServer, FakeGcsServer, MotoServer

REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "4"))
SEED_THREADS = 16
PREFIX = "data/"


def bench_key(i: int) -> str:
    return f"{PREFIX}p{i % 10}/q{(i // 10) % 10}/obj_{i:06d}.json"


def seed_parallel(put: Callable[[str], None], count: int) -> float:
    """Put `count` small objects from a thread pool; returns the seconds it took."""
    started = time.perf_counter()
    with ThreadPoolExecutor(SEED_THREADS) as pool:
        for _ in pool.map(put, (bench_key(i) for i in range(count)), chunksize=64):
            pass
    return time.perf_counter() - started


def time_count(listing: Callable[[], Iterable[Any]]) -> tuple[float, float, int]:
    """Wall seconds, client CPU seconds (all threads of this process) and the number of objects listed."""
    started, cpu_started = time.perf_counter(), time.process_time()
    count = sum(1 for _ in listing())
    return time.perf_counter() - started, time.process_time() - cpu_started, count


def compare(
    count: int,
    ours: Callable[[], Iterable[Any]],
    raw: Callable[[], Iterable[Any]],
    **extra: Callable[[], Iterable[Any]],
) -> dict[str, object]:
    """Alternate ours/raw (and extras) REPETITIONS times. objects/s from the best wall time of each (the
    machine is shared, so the best run is the least disturbed one); medians and client CPU alongside."""
    listings = {"ours": ours, "raw": raw, **extra}
    walls: dict[str, list[float]] = {name: [] for name in listings}
    cpus: dict[str, list[float]] = {name: [] for name in listings}
    for rep in range(REPETITIONS):
        order = list(listings) if rep % 2 == 0 else list(reversed(listings))
        for name in order:
            wall, cpu, listed = time_count(listings[name])
            if listed != count:
                raise RuntimeError(f"{name} listed {listed} objects, expected {count}")
            walls[name].append(wall)
            cpus[name].append(cpu)
    rates = {name: round(count / min(times)) for name, times in walls.items()}
    result: dict[str, object] = {f"{name}_objects_per_s": rate for name, rate in rates.items()}
    result["ratio_ours_to_raw"] = round(rates["ours"] / rates["raw"], 3)
    medians = {name: count / statistics.median(times) for name, times in walls.items()}
    result["ratio_ours_to_raw_median"] = round(medians["ours"] / medians["raw"], 3)
    result["client_cpu_us_per_object"] = {
        name: round(statistics.median(times) / count * 1e6, 1) for name, times in cpus.items()
    }
    result["wall_seconds"] = {name: [round(t, 3) for t in times] for name, times in walls.items()}
    return result


def bench_s3(count: int) -> dict[str, object]:
    import boto3
    from botocore.config import Config
    from encord_provider.storage.s3 import S3Store

    server = MotoServer()
    server.start()
    try:
        client = boto3.client(
            "s3",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(max_pool_connections=SEED_THREADS * 2),
        )
        client.create_bucket(Bucket="bench")
        seed_s = seed_parallel(lambda key: client.put_object(Bucket="bench", Key=key, Body=b'{"x":1}'), count)
        store = S3Store("bench", client=client, region="us-east-1")

        def raw() -> Iterable[Any]:
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket="bench", Prefix=PREFIX, PaginationConfig={"PageSize": 1000}
            ):
                for item in page.get("Contents", ()):
                    yield item["Key"], item["Size"], item["ETag"], item["LastModified"]

        result = compare(
            count,
            ours=lambda: store.list_objects(PREFIX),
            raw=raw,
            parallel_4=lambda: list_parallel(store, PREFIX, workers=4),
        )
        return {"objects": count, "seed_seconds": round(seed_s, 1), **result}
    finally:
        server.stop()


def bench_gcs(count: int) -> dict[str, object]:
    from encord_provider.storage.gcs import GCSStore
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    server = FakeGcsServer()
    server.start()
    try:
        client = storage.Client(
            project="bench",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": server.url},
        )
        bucket = client.create_bucket("bench")
        seed_s = seed_parallel(lambda key: bucket.blob(key).upload_from_string(b'{"x":1}'), count)
        store = GCSStore("bench", client=client)

        def raw() -> Iterable[Any]:  # read the same fields our records carry
            for blob in client.list_blobs("bench", prefix=PREFIX, page_size=1000):
                yield blob.name, blob.size, blob.etag, blob.updated

        result = compare(count, ours=lambda: store.list_objects(PREFIX), raw=raw)
        return {"objects": count, "seed_seconds": round(seed_s, 1), **result}
    finally:
        server.stop()


def bench_azure(count: int) -> dict[str, object]:
    from azure.storage.blob import BlobServiceClient
    from encord_provider.storage.azure import AzureBlobStore

    server = AzuriteServer()
    server.start()
    try:
        service = BlobServiceClient.from_connection_string(server.connection_string)
        container = service.create_container("bench")

        def put(key: str) -> None:
            container.upload_blob(key, b'{"x":1}')

        seed_s = seed_parallel(put, count)
        store = AzureBlobStore("bench", service=service)

        def raw() -> Iterable[Any]:
            for blob in container.list_blobs(name_starts_with=PREFIX, results_per_page=5000):
                yield blob.name, blob.size, blob.etag, blob.last_modified

        result = compare(count, ours=lambda: store.list_objects(PREFIX), raw=raw)
        return {"objects": count, "seed_seconds": round(seed_s, 1), **result}
    finally:
        server.stop()


def run() -> dict[str, object]:
    figures: dict[str, object] = {"repetitions": REPETITIONS}
    sizes = {
        "s3": int(os.environ.get("BENCH_S3_OBJECTS", "20000")),
        "gcs": int(os.environ.get("BENCH_GCS_OBJECTS", "3000")),
        "azure": int(os.environ.get("BENCH_AZURE_OBJECTS", "3000")),
    }
    benches = {"s3": bench_s3, "gcs": bench_gcs, "azure": bench_azure}
    for name, bench in benches.items():
        if sizes[name] > 0:
            figures[name] = bench(sizes[name])
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
