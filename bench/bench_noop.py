"""A no-op nightly run at 1k vs 20k objects: plan's listing step over a date-partitioned moto bucket.

Each bucket holds OBJECTS_PER_DAY objects per `dt=YYYY-MM-DD/` partition, dated back from today, so the
20k bucket is the 1k bucket with 19x more history (what a growing bucket looks like). A first run lists
everything and settles it (ledger, watermark, full-listing note, as finalize does); then the no-op run is
measured: `plan_run` with the ledger loaded, and the LIST pages it sent (counted on the boto3 client).
The same no-op run without `partitions` (listing the whole prefix, the behaviour before) is measured too.

Run: `python -m bench.bench_noop`. Target: no-op time at 20k / at 1k <= 1.5 (pruned), LIST pages alike.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ingest.listing_scope import note_full_listing
from encord_provider.ingest.plan import RunOptions, advance_watermark, plan_run
from encord_provider.ingest.stores import ledger_prefix
from encord_provider.ledger import Ledger, ObjectState
from encord_provider.storage.local import LocalStore
from encord_provider.storage.s3 import S3Store

from tests.services import MotoServer

SIZES = (1000, 20000)
OBJECTS_PER_DAY = 20
REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "5"))
WHOLE_PREFIX_REPETITIONS = 2  # the old behaviour, for reference: each run lists every key (slow in moto)
TARGET_RATIO = 1.5


def pipeline(bucket: str, partitioned: bool) -> IngestPipeline:
    listing = {"partitions": {"format": "dt=%Y-%m-%d/"}} if partitioned else {}
    return IngestPipeline.model_validate({
        "name": f"noop-{bucket}", "source": {"cloud": "s3", "bucket": bucket, "prefix": "in/", "listing": listing},
        "integration": {"title": "x"}, "folder": {"name": "f"}, "staging": {"uri": "s3://staging/base"},
    })  # fmt: skip


def seed(client: Any, bucket: str, count: int) -> None:
    client.create_bucket(Bucket=bucket)
    today = datetime.now(UTC)
    keys = [
        f"in/dt={today - timedelta(days=i // OBJECTS_PER_DAY):%Y-%m-%d}/img_{i:06d}.jpg" for i in range(count)
    ]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=b"\xff\xd8\xff\xe0x"), keys))


class PageCounter:
    """LIST pages sent, and the seconds spent waiting on them (the server's share: moto scans every key of
    the bucket for a StartAfter request, where S3 reads its index)."""

    def __init__(self, client: Any) -> None:
        self.pages, self.seconds, self._started = 0, 0.0, 0.0
        client.meta.events.register("before-call.s3.ListObjectsV2", self._start)
        client.meta.events.register("after-call.s3.ListObjectsV2", self._count)

    def reset(self) -> None:
        self.pages, self.seconds = 0, 0.0

    def _start(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def _count(self, **_: Any) -> None:
        self.pages += 1
        self.seconds += time.perf_counter() - self._started


def settle_first_run(config: IngestPipeline, source: S3Store, staging: LocalStore) -> None:
    ledger = Ledger(staging, ledger_prefix(config)).load()
    result = plan_run(config, RunOptions(), "first", source, staging, ledger)
    ledger.write([r.moved(ObjectState.LINKED, item_uuid=k) for k, r in ledger.records.items()])
    advance_watermark(ledger, result.newest, "first")
    note_full_listing(staging, ledger_prefix(config), "first")
    ledger.compact(0)


def noop_run(
    config: IngestPipeline, source: S3Store, staging: LocalStore, counter: PageCounter
) -> dict[str, Any]:
    counter.reset()
    started = time.perf_counter()
    ledger = Ledger(staging, ledger_prefix(config)).load()
    loaded = time.perf_counter()
    result = plan_run(config, RunOptions(dry_run=True), "noop", source, staging, ledger)
    done = time.perf_counter()
    if result.planned:
        raise RuntimeError(f"the no-op run planned {result.planned} objects")
    return {"plan_s": done - loaded, "with_ledger_load_s": done - started, "pages": counter.pages,
            "list_wait_s": counter.seconds, "seen": result.listing["seen"]}  # fmt: skip


def measure(client: Any, staging_root: Path, size: int, partitioned: bool) -> dict[str, Any]:
    bucket = f"noop{size}"
    config = pipeline(bucket, partitioned)
    source = S3Store(bucket, client=client, region="us-east-1")
    staging = LocalStore(staging_root / f"{bucket}-{partitioned}")
    settle_first_run(config, source, staging)
    counter = PageCounter(client)
    repetitions = REPETITIONS if partitioned else WHOLE_PREFIX_REPETITIONS
    runs = [noop_run(config, source, staging, counter) for _ in range(repetitions)]
    print(f"no-op {size} objects, {'pruned' if partitioned else 'whole prefix'}: {runs}", file=sys.stderr)
    return {
        "plan_s": round(statistics.median(r["plan_s"] for r in runs), 4),
        "with_ledger_load_s": round(statistics.median(r["with_ledger_load_s"] for r in runs), 4),
        "list_wait_s": round(statistics.median(r["list_wait_s"] for r in runs), 4),
        "plan_s_without_list_wait": round(statistics.median(r["plan_s"] - r["list_wait_s"] for r in runs), 4),
        "list_pages": runs[-1]["pages"],
        "objects_listed": runs[-1]["seen"],
    }


def run() -> dict[str, object]:
    import boto3

    server = MotoServer()
    server.start()
    try:
        client = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        for size in SIZES:
            seed(client, f"noop{size}", size)
        with tempfile.TemporaryDirectory() as tmp:
            figures = {
                mode: {str(size): measure(client, Path(tmp), size, mode == "pruned") for size in SIZES}
                for mode in ("pruned", "whole_prefix")
            }
    finally:
        server.stop()
    small, large = (figures["pruned"][str(size)] for size in SIZES)
    ratio = round(large["plan_s"] / small["plan_s"], 3)
    before = figures["whole_prefix"]
    return {
        "objects": list(SIZES), "objects_per_partition": OBJECTS_PER_DAY, "repetitions": REPETITIONS, **figures,
        "ratio_20k_to_1k": ratio,
        "ratio_20k_to_1k_with_ledger_load": round(large["with_ledger_load_s"] / small["with_ledger_load_s"], 3),
        "ratio_20k_to_1k_without_list_wait": round(
            large["plan_s_without_list_wait"] / small["plan_s_without_list_wait"], 3
        ),
        "ratio_20k_to_1k_whole_prefix": round(before[str(SIZES[1])]["plan_s"] / before[str(SIZES[0])]["plan_s"], 3),
        "list_pages_ratio": round(large["list_pages"] / small["list_pages"], 3),
        "target_ratio": TARGET_RATIO, "meets_target": ratio <= TARGET_RATIO,
    }  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
