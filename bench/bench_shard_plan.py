"""A 10M-object backfill planned across shards, with generated listings (no bucket holds 10M objects here).

The source is a generated listing (`GeneratedSource`: keys in key order, page-free, nothing stored) of
10M images in 100 `dt=YYYY-MM-DD/` partitions of 100k under `incoming/`; staging is a local directory.
Layout `shards: {derive: first_level}` gives one shard per partition (plus the root). The benchmark runs
the real prepare-side code (`fix_run_shards`: the groups plan and link are expanded over), then plan tasks
(`plan_run` into the shard's ledger, then register batches), each in its own subprocess, measuring
seconds and ru_maxrss. All partitions are the same size, so `MEASURED_TASKS` plan tasks stand for all
of them: the register expand is their measured batch count times the number of groups, an upper
bound (the root group is empty). Hash layouts are not run at 10M: each hash shard lists every key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OBJECTS = int(os.environ.get("BENCH_SHARD_OBJECTS", 10_000_000))  # smaller only to try the benchmark out
PARTITIONS = 100
MEASURED_TASKS = 2  # plan tasks run per layout
MAX_MAP_LENGTH = 1024
RSS_TARGET_MB = 500.0  # per task (the ledger part alone: bench_ledger_shards, < 300 MB at 1M records)
STAMP = datetime(2026, 1, 1, tzinfo=UTC)


class GeneratedSource:
    """An ObjectStore-like listing of OBJECTS keys; nothing is stored, records are made as listed."""

    scheme = "s3"
    bucket = "media"
    base = "incoming/"

    def _partition(self, index: int) -> str:
        return f"{self.base}dt=2026-{index // 28 + 1:02d}-{index % 28 + 1:02d}/"

    def list_level(self, prefix: str = "", delimiter: str = "/") -> Iterator[Any]:
        if prefix == self.base:
            yield from (self._partition(i) for i in range(PARTITIONS))

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Iterator[Any]:
        from encord_provider.storage.records import ObjectRecord

        per = OBJECTS // PARTITIONS
        for index in range(PARTITIONS):
            partition = self._partition(index)
            if not (partition.startswith(prefix) or prefix.startswith(partition)):
                continue
            for i in range(per):
                key = f"{partition}img-{i:07d}.jpg"
                if key.startswith(prefix) and (start_after is None or key > start_after):
                    yield ObjectRecord(
                        f"s3://media/{key}", key, 1000 + i % 977, f"{index:04d}{i:028x}", STAMP
                    )

    def object_url(self, key: str) -> str:
        return f"s3://media/{key}"

    def uri(self, key: str) -> str:
        return f"s3://media/{key}"


def _pipeline(shards: dict[str, Any]) -> Any:
    from encord_provider.config.ingest import IngestPipeline

    return IngestPipeline.model_validate({
        "name": "backfill", "source": {"cloud": "s3", "bucket": "media", "prefix": GeneratedSource.base},
        "integration": {"title": "x"}, "folder": {"name": "f"}, "datasets": ["d"],
        "staging": {"uri": "s3://staging/encord"}, "shards": shards,
    })  # fmt: skip


def _staging(root: str) -> Any:
    from encord_provider.storage.local import LocalStore

    return LocalStore(Path(root))


def prepare(root: str, shards_json: str) -> dict[str, Any]:
    """What the `shards` task does: the run's shard groups (= mapped plan and link tasks)."""
    import resource

    from encord_provider.ingest.shard_run import fix_run_shards

    started = time.perf_counter()
    groups = fix_run_shards(_staging(root), GeneratedSource(), _pipeline(json.loads(shards_json)), "backfill")
    return {"groups": groups, "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}  # fmt: skip


def plan_task(root: str, shards_json: str, group: int) -> dict[str, Any]:
    """One mapped plan task: every shard of its group planned into its own ledger, then batched."""
    import resource

    from encord_provider.ingest.batches import ChunkRef, group_chunks, write_batches
    from encord_provider.ingest.plan import RunOptions, plan_run, run_prefix
    from encord_provider.ingest.shard_run import read_group
    from encord_provider.ingest.shards import shard_ledger_prefix
    from encord_provider.ledger import Ledger

    pipeline, staging = _pipeline(json.loads(shards_json)), _staging(root)
    started = time.perf_counter()
    shards, groups = read_group(staging, pipeline, "backfill", group)
    chunks, planned = [], 0
    for shard in shards:
        ledger = Ledger(staging, shard_ledger_prefix(pipeline, shard.id)).load()
        result = plan_run(pipeline, RunOptions(), "backfill", GeneratedSource(), staging, ledger, shard)  # type: ignore[arg-type]
        planned += result.planned
        chunks += [
            ChunkRef(u, ledger.prefix, e) for u, e in zip(result.plan_uris, result.chunk_entries, strict=True)
        ]
        ledger.records.close()
    budget = max(1, pipeline.shards.max_register_tasks // groups)
    batches = write_batches(staging, run_prefix(pipeline, "backfill"), group_chunks(chunks, budget))
    return {"group": group, "objects": planned, "chunks": len(chunks), "register_batches": len(batches),
            "budget": budget, "seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}  # fmt: skip


def _subprocess(call: str) -> dict[str, Any]:
    code = f"import json, bench.bench_shard_plan as b; print(json.dumps({call}))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _layout(shards: dict[str, Any], measured: range) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-shard-plan-") as root:
        spec = json.dumps(shards)
        prepared = _subprocess(f"b.prepare({root!r}, {spec!r})")
        groups = prepared["groups"]
        tasks = [_subprocess(f"b.plan_task({root!r}, {spec!r}, {g})") for g in measured if g < groups]
    per_group = max(t["register_batches"] for t in tasks)
    register_tasks = per_group * groups  # every group is the same size (see the module doc)
    expands = {"plan": groups, "register_upper_bound": register_tasks, "link": groups}
    return {
        "shards": shards, "objects": OBJECTS, "prepare": prepared, "measured_plan_tasks": tasks,
        "objects_per_plan_task": tasks[0]["objects"], "mapped_tasks_per_expand": expands,
        "max_expand": max(expands.values()), "max_map_length": MAX_MAP_LENGTH,
        "within_map_length": max(expands.values()) <= MAX_MAP_LENGTH,
        "peak_rss_mb_per_task": max(t["peak_rss_mb"] for t in tasks),
        "rss_target_mb": RSS_TARGET_MB, "rss_ok": max(t["peak_rss_mb"] for t in tasks) < RSS_TARGET_MB,
    }  # fmt: skip


def run() -> dict[str, Any]:
    derived = _layout({"derive": "first_level"}, range(1, 1 + MEASURED_TASKS))  # group 0: the (empty) root
    return {
        "derived_100_partitions": derived,
        "target_met": derived["within_map_length"] and derived["rss_ok"],
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
