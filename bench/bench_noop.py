"""A no-op nightly run at 1k vs 20k objects: plan's listing step over a date-partitioned moto bucket.

Each bucket holds OBJECTS_PER_DAY objects per `dt=YYYY-MM-DD/` partition, dated back from today, so the
20k bucket is the 1k bucket with 19x more history (what a growing bucket looks like). A first run lists
everything and settles it (ledger, watermark, full-listing note, compaction: as link and finalize do);
then the no-op run is measured as the plan task runs it: the ledger opened (`ingest.plan_ledger`, which
reads only the snapshot index and the blocks of listed keys) and `plan_run`, with the LIST pages it sent
and the time spent waiting on them (counted on the boto3 client: the server's share). The polling
trigger's first check (`ledger_window` + `poll_once`, the same opened ledger and partition ranges) is
measured the same way. Then link and finalize run their domain paths on the same no-op run, as
`operators.ingest.link_step` / `finalize_step` do: link opens the ledger, resolves duplicates and links
the ready items (none: no Encord call), finalize opens it, moves the watermark, compacts (nothing worth
folding: a watermark segment is deferred) and computes the report part (this run's records and the
ledger totals, from the index's per-block counts). The same no-op run without `partitions` (listing the whole prefix, the behaviour
before) is measured too.

Run: `python -m bench.bench_noop`. Target: no-op plan + link + finalize time at 20k / at 1k <= 1.5
(pruned prefixes), LIST pages alike.
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
from typing import Any, cast

from encord_provider.config.ingest import IngestPipeline
from encord_provider.encord_api import EncordApi
from encord_provider.ingest.link import link_ready_items, resolve_duplicates
from encord_provider.ingest.listing_scope import note_full_listing
from encord_provider.ingest.plan import RunOptions, advance_watermark, plan_run, run_prefix
from encord_provider.ingest.plan_ledger import open_plan_ledger, plan_ledgers
from encord_provider.ingest.report import report_from_part, shard_part
from encord_provider.ingest.shards import SINGLE_SHARD
from encord_provider.ingest.stores import ledger_prefix
from encord_provider.ledger import Ledger, ObjectState
from encord_provider.ledger.ledger import DEFERRED_WATERMARKS
from encord_provider.storage.local import LocalStore
from encord_provider.storage.s3 import S3Store

from tests.services import MotoServer

SIZES = (1000, 20000)
OBJECTS_PER_DAY = 20
REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "5"))
WHOLE_PREFIX_REPETITIONS = 2  # the old behaviour, for reference: each run lists every key (slow in moto)
TARGET_RATIO = 1.5


MODES = {  # how the no-op run skips old partitions (source.listing.partitions.pruning), or not at all
    "pruned_prefixes": {"partitions": {"format": "dt=%Y-%m-%d/", "pruning": "prefixes"}},
    "pruned": {"partitions": {"format": "dt=%Y-%m-%d/"}},  # StartAfter (the default)
    "whole_prefix": {},
}


def pipeline(bucket: str, mode: str) -> IngestPipeline:
    listing = MODES[mode]
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
    ledger.compact(0)  # (link or finalize compacts: the snapshot and its index)


class NoEncord:
    """A no-op run makes no Encord call: any attribute asked for fails the bench."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the no-op run called Encord ({name})")


def link_noop(config: IngestPipeline, source: S3Store, staging: LocalStore, run_id: str) -> dict[str, Any]:
    """`link_step` for the one shard: opened ledger, duplicates resolved, ready items linked."""
    started = time.perf_counter()
    api = cast(EncordApi, NoEncord())
    ledger = Ledger(staging, ledger_prefix(config)).open()
    ledger.write(resolve_duplicates(ledger, api, "folder", source.object_url), writer=f"resolve:{run_id}")
    result = link_ready_items(ledger, api, ["dataset"], run_id)
    blocks = ledger.fetched_blocks
    ledger.close()
    if result["linked_objects"]:
        raise RuntimeError(f"the no-op run linked {result['linked_objects']} objects")
    return {"link_s": time.perf_counter() - started, "link_blocks_read": blocks}


def finalize_noop(
    config: IngestPipeline, staging: LocalStore, run_id: str, newest: str | None
) -> dict[str, Any]:
    """`finalize_step`'s ledger work: watermark, compaction, the report's part and totals."""
    started = time.perf_counter()
    ledger = Ledger(staging, ledger_prefix(config)).open()
    advance_watermark(ledger, newest, run_id)
    compaction = ledger.compact(0, DEFERRED_WATERMARKS)
    part = shard_part(ledger, staging.uri(run_prefix(config, run_id)))
    report = report_from_part(config, part, ledger.watermark.to_json(), run_id, {})
    blocks = ledger.fetched_blocks
    ledger.close()
    if report["objects"] or sum(report["ledger_totals"].values()) == 0:
        raise RuntimeError(f"unexpected no-op report: {report['objects']} objects, {report['ledger_totals']}")
    return {"finalize_s": time.perf_counter() - started, "finalize_blocks_read": blocks,
            "compacted": compaction.snapshot is not None, "ledger_total": sum(report["ledger_totals"].values())}  # fmt: skip


def whole_load(config: IngestPipeline, staging: LocalStore) -> float:
    """For reference: what link and finalize each did before (`load()`, the whole ledger)."""
    started = time.perf_counter()
    ledger = Ledger(staging, ledger_prefix(config)).load()
    ledger.counts()
    ledger.close()
    return time.perf_counter() - started


def noop_run(
    config: IngestPipeline, source: S3Store, staging: LocalStore, counter: PageCounter
) -> dict[str, Any]:
    """One no-op plan as `operators.ingest._plan_shard` runs it (a dry run: no Encord calls to settle)."""
    counter.reset()
    started = time.perf_counter()
    ledgers = plan_ledgers(staging, config)
    ledger = open_plan_ledger(staging, config, SINGLE_SHARD, ledgers)
    opened = time.perf_counter()
    result = plan_run(
        config, RunOptions(dry_run=True), "noop", source, staging, ledger, watermark=ledgers.watermark
    )
    done = time.perf_counter()
    blocks = ledger.fetched_blocks
    ledger.close()
    if result.planned:
        raise RuntimeError(f"the no-op run planned {result.planned} objects")
    run_id = f"noop-{time.monotonic_ns()}"
    link = link_noop(config, source, staging, run_id)
    final = finalize_noop(config, staging, run_id, result.newest)
    total = done - started + link["link_s"] + final["finalize_s"]
    return {"plan_s": done - started, "ledger_open_s": opened - started, "pages": counter.pages,
            "list_wait_s": counter.seconds, "seen": result.listing["seen"], "ledger_blocks_read": blocks,
            **link, **final, "total_s": total, "whole_load_s": whole_load(config, staging)}  # fmt: skip


def poll_check(
    config: IngestPipeline, source: S3Store, staging: LocalStore, counter: PageCounter
) -> dict[str, Any]:
    """The polling trigger's first check: its window from the opened ledger, then one poll (its stores
    are the bench's, so the LIST pages are counted)."""
    from unittest import mock

    from encord_provider.triggers import bucket_poll

    counter.reset()
    started = time.perf_counter()
    where = {"scheme": "file", "bucket": "staging", "ledger_prefix": ledger_prefix(config)}
    from encord_provider.operators.ingest_dag import _poll_partitions

    spec = _poll_partitions(config)  # the trigger kwargs the DAG builds (format, safety lag, pruning)
    with (
        mock.patch.object(
            bucket_poll, "open_store", lambda uri, **_: source if uri.startswith("s3") else staging
        ),
        mock.patch.object(
            bucket_poll, "open_bucket", lambda *_, **__: source
        ),  # the source, with this client
    ):
        window = bucket_poll.ledger_window(where, timedelta(seconds=900))
        fresh = bucket_poll.poll_once(
            "s3", config.source.bucket, config.source.prefix, None, None, window, spec
        )
    return {"seconds": time.perf_counter() - started, "announced": len(fresh), "pages": counter.pages,
            "list_wait_s": counter.seconds}  # fmt: skip


def measure(client: Any, staging_root: Path, size: int, mode: str) -> dict[str, Any]:
    bucket = f"noop{size}"
    config = pipeline(bucket, mode)
    partitioned = mode != "whole_prefix"
    source = S3Store(bucket, client=client, region="us-east-1")
    staging = LocalStore(staging_root / f"{bucket}-{mode}")
    settle_first_run(config, source, staging)
    counter = PageCounter(client)
    repetitions = REPETITIONS if partitioned else WHOLE_PREFIX_REPETITIONS
    runs = [noop_run(config, source, staging, counter) for _ in range(repetitions)]
    polls = [poll_check(config, source, staging, counter) for _ in range(repetitions)]
    print(
        f"no-op {size} objects, {mode}: {runs} {polls}",
        file=sys.stderr,
    )
    if any(p["announced"] for p in polls):
        raise RuntimeError(f"the poll announced objects the ledger has: {polls}")
    return {
        "plan_s": _median(runs, "plan_s"),
        "ledger_open_s": _median(runs, "ledger_open_s"),
        "list_wait_s": _median(runs, "list_wait_s"),
        "plan_s_without_list_wait": round(statistics.median(r["plan_s"] - r["list_wait_s"] for r in runs), 4),
        "list_pages": runs[-1]["pages"],
        "objects_listed": runs[-1]["seen"],
        "ledger_blocks_read": runs[-1]["ledger_blocks_read"],
        "link_s": _median(runs, "link_s"),
        "link_blocks_read": runs[-1]["link_blocks_read"],
        "finalize_s": _median(runs, "finalize_s"),
        "finalize_blocks_read": runs[-1]["finalize_blocks_read"],
        "finalize_compacted": any(r["compacted"] for r in runs),
        "ledger_total": runs[-1]["ledger_total"],
        "total_s": _median(runs, "total_s"),
        "whole_load_s": _median(runs, "whole_load_s"),
        "poll_s": _median(polls, "seconds"),
        "poll_list_wait_s": _median(polls, "list_wait_s"),
        "poll_list_pages": polls[-1]["pages"],
    }


def _median(runs: list[dict[str, Any]], name: str) -> float:
    return round(statistics.median(r[name] for r in runs), 4)


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
                mode: {str(size): measure(client, Path(tmp), size, mode) for size in SIZES} for mode in MODES
            }
    finally:
        server.stop()
    before = figures["whole_prefix"]
    return {
        "objects": list(SIZES), "objects_per_partition": OBJECTS_PER_DAY, "repetitions": REPETITIONS, **figures,
        "ratios": {mode: ratios(figures[mode]) for mode in MODES},
        # the headline: prefix pruning (flat on moto, whose StartAfter scans every key of the prefix)
        "ratio_20k_to_1k": ratios(figures["pruned_prefixes"])["total"],
        "ratio_20k_to_1k_plan": ratios(figures["pruned_prefixes"])["plan"],
        "ratio_20k_to_1k_link": ratios(figures["pruned_prefixes"])["link"],
        "ratio_20k_to_1k_finalize": ratios(figures["pruned_prefixes"])["finalize"],
        "ratio_20k_to_1k_start_after": ratios(figures["pruned"])["plan"],
        "ratio_20k_to_1k_whole_prefix": ratios(before)["plan"],
        "list_pages_ratio": ratios(figures["pruned_prefixes"])["list_pages"],
        "target_ratio": TARGET_RATIO, "meets_target": ratios(figures["pruned_prefixes"])["total"] <= TARGET_RATIO,
    }  # fmt: skip


def ratios(by_size: dict[str, dict[str, Any]]) -> dict[str, float]:
    """20k / 1k for each figure: the whole plan, its parts (the server's LIST wait, the client without it,
        opening the ledger), the trigger's check, the LIST pages, link, finalize, their total, and (for
    reference) a whole load of the ledger as link and finalize did before."""
    small, large = (by_size[str(size)] for size in SIZES)
    names = {"plan": "plan_s", "list_wait": "list_wait_s", "plan_without_list_wait": "plan_s_without_list_wait",
             "ledger_open": "ledger_open_s", "poll": "poll_s", "poll_list_wait": "poll_list_wait_s",
             "list_pages": "list_pages", "link": "link_s", "finalize": "finalize_s", "total": "total_s",
             "whole_load": "whole_load_s"}  # fmt: skip
    return {name: round(large[key] / small[key], 3) if small[key] else 0.0 for name, key in names.items()}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
