"""The ledger under damage and skew, through whole `encord_ingest__<name>` runs (moto + the Encord emulator):
a torn snapshot, a torn segment, a register worker whose clock is 300 s behind. Every test ends with the
exactly-once check (tests/ingest_invariants.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from encord_provider.ledger import Ledger

from tests.dags.test_ingest_support import (
    folder_items,
    pipeline_config,
    put_demo_media,
    run_dag,
    seed_integration,
    task_states,
    write_pipelines,
    xcom,
)
from tests.ingest_invariants import Tally, check_exactly_once

pytestmark = pytest.mark.timeout(400)
INTEGRATION = "test-aws"
NAME = "led"
DAG_ID = f"encord_ingest__{NAME}"
LEDGER_PREFIX = f"encord/ledger/{NAME}"  # <staging base path>/ledger/<pipeline name>


def s3_pipeline(request: pytest.FixtureRequest, **overrides: Any) -> dict[str, Any]:
    """Pipeline `led` from moto bucket `media` (prefix `in/`) with staging `s3://staging/encord`."""
    s3_client: Any = request.getfixturevalue("s3_client")
    s3_client.create_bucket(Bucket="media")
    s3_client.create_bucket(Bucket="staging")
    endpoint = request.getfixturevalue("moto_endpoint")
    seed_integration(request.getfixturevalue("encord_emulator"), INTEGRATION, "aws", endpoint_url=endpoint)
    config = pipeline_config(NAME, "s3", "media", "aws_test", "s3://staging/encord", INTEGRATION, **overrides)
    write_pipelines(request.getfixturevalue("tmp_path"), request.getfixturevalue("monkeypatch"), config)
    return config


@pytest.fixture
def pipeline(request: pytest.FixtureRequest) -> dict[str, Any]:
    return s3_pipeline(request)


def _put(s3_client: Any) -> Any:
    return lambda key, data: s3_client.put_object(Bucket="media", Key=key, Body=data)


def staging_ledger(s3_client: Any) -> Ledger:
    from encord_provider.storage.s3 import S3Store

    return Ledger(S3Store("staging", client=s3_client), LEDGER_PREFIX).load()


def keys_under(s3_client: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def assert_exactly_once(s3_client: Any, encord_client: Any, config: dict[str, Any], dag_run: Any) -> Tally:
    """The four invariants over the whole source prefix, the folder, the dataset and the staging ledger."""
    (dataset_hash,) = xcom(dag_run, "prepare")["dataset_hashes"]
    return check_exactly_once(
        bucket_keys=keys_under(s3_client, "media", config["source"]["prefix"]),
        ledger_records=staging_ledger(s3_client).records,
        folder_items=folder_items(encord_client, config["folder"]["name"]),
        dataset_rows={dataset_hash: list(encord_client.get_dataset(dataset_hash).data_rows)},
    )


def run_report(s3_client: Any, dag_run: Any) -> dict[str, Any]:
    uri = xcom(dag_run, "finalize")["report_uri"]
    body = s3_client.get_object(Bucket="staging", Key=uri.removeprefix("s3://staging/"))["Body"].read()
    return dict(json.loads(body))


def truncate(s3_client: Any, key: str, cut: int) -> None:
    """Replace an object by itself minus its last `cut` bytes (a truncated copy, a crash mid-write)."""
    body = s3_client.get_object(Bucket="staging", Key=key)["Body"].read()
    s3_client.put_object(Bucket="staging", Key=key, Body=body[:-cut])


def new_images(s3_client: Any, *names: str) -> list[str]:
    from demo.media import image_bytes

    keys = [f"in/{name}.jpg" for name in names]
    for index, key in enumerate(keys):
        s3_client.put_object(Bucket="media", Key=key, Body=image_bytes(12, 12, (200, 10 * index, 5)))
    return keys


@pytest.mark.parametrize("segments_gone", [False, True], ids=["segments-kept", "segments-gone"])
def test_a_torn_snapshot_is_skipped_and_the_next_run_registers_everything_once(
    pipeline: dict[str, Any], s3_client: Any, encord_client: Any, segments_gone: bool
) -> None:
    """segments-gone: nothing older to fall back to, so every object is planned again and Encord's
    duplicate-URL check plus the folder lookup settle them on the items already there."""
    media = put_demo_media(_put(s3_client))
    first = run_dag(DAG_ID)
    assert first.state == "success", task_states(first)
    items_before = {i.uuid for i in folder_items(encord_client, pipeline["folder"]["name"])}
    [snapshot] = keys_under(s3_client, "staging", f"{LEDGER_PREFIX}/snapshots/")
    truncate(s3_client, snapshot, 40)
    if segments_gone:
        for key in keys_under(s3_client, "staging", f"{LEDGER_PREFIX}/segments/"):
            s3_client.delete_object(Bucket="staging", Key=key)
    added = new_images(s3_client, "after_tear_0", "after_tear_1")

    second = run_dag(DAG_ID)
    assert second.state == "success", task_states(second)
    problems = run_report(s3_client, second)["ledger_problems"]
    assert [(p["uri"], p["kind"]) for p in problems] == [(f"s3://staging/{snapshot}", "torn")]
    tally = assert_exactly_once(s3_client, encord_client, pipeline, second)
    assert tally.lost == tally.registered_twice == 0 and tally.objects_in == len(media) + 2
    items_after = {i.uuid: i.name for i in folder_items(encord_client, pipeline["folder"]["name"])}
    assert set(items_after) - items_before == {u for u, n in items_after.items() if n in added}
    assert keys_under(s3_client, "staging", f"{LEDGER_PREFIX}/quarantine/snapshots/")
    assert staging_ledger(s3_client).problems == []  # compaction replaced the torn snapshot


def test_a_torn_segment_loses_its_batch_and_the_next_run_retries_it(
    pipeline: dict[str, Any], s3_client: Any, encord_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import encord_provider.operators.ingest as ingest

    media = put_demo_media(_put(s3_client))

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated worker crash before linking")

    with monkeypatch.context() as patch:
        patch.setattr(ingest, "link_ready_items", crash)
        first = run_dag(DAG_ID)
    assert first.state == "failed"
    results = [
        key
        for key in keys_under(s3_client, "staging", f"{LEDGER_PREFIX}/segments/")
        if b'"writer":"result:' in s3_client.get_object(Bucket="staging", Key=key)["Body"].read(300)
    ]
    assert len(results) == 3  # one job result per chunk, none compacted yet
    truncate(s3_client, results[0], 25)
    torn_keys = set(staging_ledger(s3_client).records)  # with the batch gone, its objects look submitted

    second = run_dag(DAG_ID)
    assert second.state == "success", task_states(second)
    problems = run_report(s3_client, second)["ledger_problems"]
    assert [(p["uri"], p["kind"]) for p in problems] == [(f"s3://staging/{results[0]}", "torn")]
    assert torn_keys
    tally = assert_exactly_once(s3_client, encord_client, pipeline, second)
    assert tally.objects_in == len(media) and tally.registered_twice == 0


@contextmanager
def clock_behind(seconds: float) -> Iterator[None]:
    """This worker's wall clock `seconds` behind: time.time / time.time_ns and the ledger's record stamps."""
    import encord_provider.ledger.records as records

    real_time, real_ns, real_stamp = time.time, time.time_ns, records.utc_now
    time.time = lambda: real_time() - seconds  # type: ignore[assignment]
    time.time_ns = lambda: real_ns() - int(seconds * 1e9)  # type: ignore[assignment]
    records.utc_now = lambda: (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(  # type: ignore[assignment]
        timespec="milliseconds"
    )
    try:
        yield
    finally:
        time.time, time.time_ns, records.utc_now = real_time, real_ns, real_stamp  # type: ignore[assignment]


def test_a_register_worker_300s_behind_is_neither_skipped_nor_doubled(
    pipeline: dict[str, Any], s3_client: Any, encord_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first ledger format named segments by the writer's clock and skipped segments named before the
    newest snapshot's time boundary: after one compaction that folded this worker's segments, the next
    ones it wrote (300 s "earlier") were never read, and their objects stayed pending forever."""
    put_demo_media(_put(s3_client))
    first = run_dag(DAG_ID)
    assert first.state == "success", task_states(first)

    real_write = Ledger.write
    skewed: list[str] = []

    def write_from_a_slow_clock(self: Ledger, records: Any, watermark: Any = None, writer: str = "") -> Any:
        if not writer.startswith(("register:", "result:")):
            return real_write(self, records, watermark, writer)
        with clock_behind(300):
            skewed.append(writer)
            return real_write(self, records, watermark, writer)

    for batch in range(2):  # the second batch follows a compaction that folded the first one's segments
        added = new_images(s3_client, *(f"skewed_{batch}_{i}" for i in range(4)))
        with monkeypatch.context() as patch:
            patch.setattr(Ledger, "write", write_from_a_slow_clock)
            dag_run = run_dag(DAG_ID)
        assert dag_run.state == "success", task_states(dag_run)
        assert len(skewed) == 4 * (batch + 1)  # 4 new images in 2 chunks: register + result per chunk
        linked = {k for k, r in staging_ledger(s3_client).records.items() if str(r.state) == "linked"}
        assert set(added) <= linked
        assert_exactly_once(s3_client, encord_client, pipeline, dag_run)

    again = run_dag(DAG_ID)
    assert again.state == "success", task_states(again)
    assert not [k for k, state in task_states(again).items() if k[0] == "register" and state == "success"]
    assert_exactly_once(s3_client, encord_client, pipeline, again)
