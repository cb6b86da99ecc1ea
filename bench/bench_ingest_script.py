"""Ingest end to end vs a hand-written SDK script: 2,000 images from moto into the Encord emulator.

The script does what a person would write: list the prefix (boto3 paginator), build one JSON manifest,
start one upload job, wait on it, list the folder's items and link them into a new dataset.

Ours runs the pipeline's domain steps in-process, as the DAG's tasks call them, without Airflow's start-up
(the brief: "excluding Airflow start-up"): resolve_targets (prepare), plan_run (plan), one
ChunkRegistration per chunk run concurrently as the mapped register tasks would, then
resolve_duplicates + link_ready_items (link) and the watermark (finalize). Stores are opened through
`ingest.stores.open_store` per step, as the tasks do, so the per-process client cache counts.

Each repetition uses a fresh prefix, folder and dataset; modes alternate. Reported: objects/s of both (from
the best wall time, and the medians), the ratio ours/script (target >= 0.8) and the seconds per step.
Run: `python -m bench.bench_ingest_script`. BENCH_INGEST_OBJECTS (default 2000) sets the size.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

OBJECTS = int(os.environ.get("BENCH_INGEST_OBJECTS", "2000"))
REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "2"))
TARGET_RATIO = 0.8
INTEGRATION = "bench-ingest"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _image(i: int) -> bytes:
    from demo.media import image_bytes

    return image_bytes(8, 8, (i % 251, (i * 7) % 251, 40))


def seed(s3: Any, bucket: str, prefix: str) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"{prefix}img_{i:05d}.jpg", Body=_image(i)),
                      range(OBJECTS)))  # fmt: skip


def script_run(client: Any, s3: Any, bucket: str, prefix: str, integration_id: str) -> dict[str, float]:
    """The hand-written script: list, JSON, upload job, link."""
    from encord.orm.dataset import DataLinkDuplicatesBehavior, StorageLocation

    started = time.perf_counter()
    keys = [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", ())]  # fmt: skip
    manifest = {"images": [{"objectUrl": f"s3://{bucket}/{key}", "title": key} for key in keys],
                "skip_duplicate_urls": True}  # fmt: skip
    folder = client.create_storage_folder(f"script-{uuid.uuid4().hex[:8]}")
    job = folder.add_private_data_to_folder_start(integration_id, manifest, ignore_errors=True)
    while True:
        result = folder.add_private_data_to_folder_get_result(job, timeout_seconds=5)
        if result.status.value != "PENDING":
            break
    dataset = client.create_dataset(f"script-{uuid.uuid4().hex[:8]}", StorageLocation.CORD_STORAGE,
                                    create_backing_folder=False)  # fmt: skip
    items = [item.uuid for item in folder.list_items(page_size=1000)]
    client.get_dataset(dataset.dataset_hash).link_items(items, DataLinkDuplicatesBehavior.SKIP)
    if len(items) != OBJECTS:
        raise RuntimeError(f"the script registered {len(items)} of {OBJECTS} objects: {result}")
    return {"total_s": time.perf_counter() - started}


def _pipeline(bucket: str, prefix: str, staging_bucket: str, endpoint: str) -> Any:
    from encord_provider.config.ingest import IngestPipeline

    name = f"bench{uuid.uuid4().hex[:8]}"
    return IngestPipeline.model_validate({
        "name": name, "source": {"cloud": "s3", "bucket": bucket, "prefix": prefix, "endpoint_url": endpoint},
        "encord_conn_id": "encord_bench", "integration": {"title": INTEGRATION}, "folder": {"name": name},
        "datasets": [name], "staging": {"uri": f"s3://{staging_bucket}/{name}", "endpoint_url": endpoint},
    })  # fmt: skip


def _register(pipeline: Any, api: Any, targets: Any, plan_uri: str) -> None:
    """What EncordRegisterChunkOperator does for one chunk (start, wait, record the result)."""
    from encord_provider.ingest.chunks import read_plan
    from encord_provider.ingest.jobs import ChunkRegistration, WaitOnJob
    from encord_provider.ingest.stores import conditional, ledger_prefix, staging_store
    from encord_provider.ledger import Ledger

    staging = conditional(pipeline, staging_store(pipeline))
    registration = ChunkRegistration(
        staging=staging, ledger=Ledger(staging, ledger_prefix(pipeline)).scan(), api=api, plan_uri=plan_uri,
        plan=read_plan(staging, plan_uri), folder_uuid=targets.folder_uuid, integration_id=targets.integration_id,
        settle_seconds=600, poll_seconds=pipeline.upload_poll_seconds,
    )  # fmt: skip
    step = registration.next_step()
    assert isinstance(step, WaitOnJob), step
    while not (state := api.upload_job(targets.folder_uuid, step.job_id, wait_seconds=5)).finished:
        pass
    registration.ledger.write(registration.finish(step.job_id, state), writer=f"result:{step.job_id}")


def ours_run(api: Any, bucket: str, prefix: str, staging_bucket: str, endpoint: str) -> dict[str, float]:
    """The pipeline's steps in-process (see the module docstring)."""
    from encord_provider.ingest.link import link_ready_items, resolve_duplicates
    from encord_provider.ingest.plan import RunOptions, advance_watermark, plan_run
    from encord_provider.ingest.stores import conditional, ledger_prefix, source_store, staging_store
    from encord_provider.ingest.targets import resolve_targets
    from encord_provider.ledger import Ledger, ObjectState

    pipeline = _pipeline(bucket, prefix, staging_bucket, endpoint)
    marks = {"start": time.perf_counter()}

    def ledger() -> Ledger:
        return Ledger(conditional(pipeline, staging_store(pipeline)), ledger_prefix(pipeline)).load()

    targets = resolve_targets(pipeline, api, staging_store(pipeline), ledger(), "bench")
    marks["prepare"] = time.perf_counter()
    result = plan_run(
        pipeline, RunOptions(), "bench", source_store(pipeline), staging_store(pipeline), ledger()
    )
    marks["plan"] = time.perf_counter()
    with ThreadPoolExecutor(max(1, len(result.plan_uris))) as pool:
        list(pool.map(lambda uri: _register(pipeline, api, targets, uri), result.plan_uris))
    marks["register"] = time.perf_counter()
    book = ledger()
    book.write(resolve_duplicates(book, api, targets.folder_uuid, source_store(pipeline).object_url))
    link_ready_items(book, api, targets.dataset_hashes, "bench", targets.backfill)
    marks["link"] = time.perf_counter()
    advance_watermark(book, result.newest, "bench")
    marks["finalize"] = time.perf_counter()
    linked = len(book.in_state(ObjectState.LINKED))
    if linked != OBJECTS:
        raise RuntimeError(f"ours linked {linked} of {OBJECTS} objects")
    steps = list(marks)
    timings = {f"{b}_s": marks[b] - marks[a] for a, b in zip(steps, steps[1:], strict=False)}
    return {"total_s": marks["finalize"] - marks["start"], **timings}


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    best = min(r["total_s"] for r in runs)
    return {
        "objects_per_s": round(OBJECTS / best, 1),
        "objects_per_s_median": round(OBJECTS / statistics.median(r["total_s"] for r in runs), 1),
        "wall_seconds": [round(r["total_s"], 2) for r in runs],
        "step_seconds": {
            k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0] if k != "total_s"
        },
    }


def run() -> dict[str, object]:
    import boto3
    from encord_emulator.testing import EmulatorProcess
    from encord_provider.encord_api import EncordApi
    from encord_provider.storage.client_cache import cache_stats

    from tests.services import MotoServer

    os.environ.update(AWS_ENV)
    moto, emulator = MotoServer(), EmulatorProcess()
    moto.start()
    emulator.start()
    try:
        s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
        s3.create_bucket(Bucket="media")
        s3.create_bucket(Bucket="staging")
        emulator.admin_post("/admin/seed", {"integrations": [
            {"title": INTEGRATION, "provider": "aws", "endpoint_url": moto.url}]})  # fmt: skip
        client = emulator.client()
        (integration,) = client.get_cloud_integrations(filter_integration_titles=[INTEGRATION])
        api = EncordApi(client)  # one SDK client for the whole run, as the script has
        modes: dict[str, Callable[[str], dict[str, float]]] = {
            "script": lambda prefix: script_run(client, s3, "media", prefix, str(integration.id)),
            "ours": lambda prefix: ours_run(api, "media", prefix, "staging", moto.url),
        }
        prefixes = {(rep, mode): f"{mode}{rep}/" for rep in range(REPETITIONS) for mode in modes}
        for prefix in prefixes.values():
            seed(s3, "media", prefix)
        runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
        for rep in range(REPETITIONS):
            for mode in list(modes) if rep % 2 == 0 else list(reversed(modes)):
                runs[mode].append(modes[mode](prefixes[rep, mode]))
    finally:
        emulator.close()
        moto.stop()
    figures = {mode: _summary(r) for mode, r in runs.items()}
    ratio = figures["ours"]["objects_per_s"] / figures["script"]["objects_per_s"]
    median = figures["ours"]["objects_per_s_median"] / figures["script"]["objects_per_s_median"]
    return {
        "objects": OBJECTS, "repetitions": REPETITIONS, **figures, "ratio_ours_to_script": round(ratio, 3),
        "ratio_ours_to_script_median": round(median, 3), "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO, "storage_clients": cache_stats(),
    }  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
