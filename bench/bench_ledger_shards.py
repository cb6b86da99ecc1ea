"""Ledger peak RSS per shard: one mapped task's work on a 100k- and a 1M-record shard, while the pipeline's
whole ledger holds 100M records (99 other 1M-record shards, hard links to the same snapshot, so they
cost no disk and show that a task never touches them).

Each measurement runs in a fresh subprocess (`resource.getrusage(RUSAGE_SELF).ru_maxrss`): load the shard
(snapshot + a segment), look up keys, write a 1% update segment, compact. Generation happens in another
subprocess, so it is not counted. The baseline is the unsharded ledger's former loader (whole file read
into bytes, a dict of LedgerRecord objects) at 100k records. Target: < 300 MB at 1M records.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_MB = 300.0
OTHER_SHARDS = 99
SIZES = (100_000, 1_000_000)


def _record(i: int) -> dict[str, Any]:
    return {"key": f"incoming/dt=2026-01-{i % 28 + 1:02d}/camera-{i % 97:02d}/frame-{i:09d}.jpg",
            "etag": f"{i:032x}", "state": "linked", "item_uuid": f"00000000-0000-4000-8000-{i:012d}",
            "chunk": f"s3://ml-staging/encord/runs/backfill/scheduled__2026-01-01/plan-1a2b3c4d/chunk-{i // 1000:05d}.plan.json",
            "entry": f"frame-{i:09d}.jpg", "updated_at": "2026-01-02T03:04:05.678+00:00"}  # fmt: skip


def generate(root: str, records: int) -> dict[str, Any]:
    """A shard ledger of `records` linked records (one snapshot), plus hard-linked other shards."""
    from encord_provider.ledger.files import write_file
    from encord_provider.ledger.names import new_snapshot_key
    from encord_provider.ledger.records import row_of_json
    from encord_provider.storage.local import LocalStore

    store = LocalStore(Path(root))
    key = new_snapshot_key("ledger/shards/s0000", 1)
    header = {"kind": "snapshot", "lamport": 1, "base": None, "folded": [], "writer": "bench"}
    write_file(store, key, header, (row_of_json(_record(i)) for i in range(records)))
    for shard in range(1, OTHER_SHARDS + 1):
        other = Path(root) / key.replace("s0000", f"s{shard:04d}")
        other.parent.mkdir(parents=True, exist_ok=True)
        os.link(Path(root) / key, other)
    return {"records": records, "snapshot_mb": round((Path(root) / key).stat().st_size / 2**20, 1)}


def measure(root: str, records: int) -> dict[str, Any]:
    """One shard task's ledger work; returns timings and ru_maxrss."""
    import resource

    from encord_provider.ledger import Ledger, ObjectState
    from encord_provider.storage.local import LocalStore

    store = LocalStore(Path(root))
    reads: list[str] = []
    read_range = store.read_range
    store.read_range = lambda key, start, length: (reads.append(key), read_range(key, start, length))[1]  # type: ignore[method-assign]
    started = time.perf_counter()
    ledger = Ledger(store, "ledger/shards/s0000").load()
    loaded = time.perf_counter()
    hits = sum(
        1 for i in range(0, records, max(1, records // 10_000)) if ledger.get(_record(i)["key"]) is not None
    )
    updates = [
        r.moved(ObjectState.LINKED, item_uuid="x")
        for r in (ledger.get(_record(i)["key"]) for i in range(0, records, 100))
        if r
    ]
    ledger.write(updates, writer="bench")
    written = time.perf_counter()
    done = Ledger(store, "ledger/shards/s0000").load().compact(grace_seconds=0)  # writes the snapshot index
    compacted = time.perf_counter()
    # An opened ledger (a no-op plan): 100 consecutive record numbers, which _record spreads over 28 dates
    # x 97 cameras, so the worst case of one snapshot block per key.
    opened = Ledger(store, "ledger/shards/s0000").open()
    found = sum(
        1 for i in range(records // 2, records // 2 + 100) if opened.get(_record(i)["key"]) is not None
    )
    looked_up = time.perf_counter()
    return {
        "open_and_100_lookups_s": round(looked_up - compacted, 3), "open_lookups_found": found,
        "open_blocks_read": opened.fetched_blocks,
        "records": records, "lookups_found": hits, "updated": len(updates), "load_s": round(loaded - started, 2),
        "write_1pct_s": round(written - loaded, 2), "reload_and_compact_s": round(compacted - written, 2),
        "snapshot_written": done.snapshot is not None,
        "files_read_outside_shard": len({k for k in reads if not k.startswith("ledger/shards/s0000/")}),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }  # fmt: skip


def baseline(root: str, records: int) -> dict[str, Any]:
    """The former loader: the whole file as bytes, every line a LedgerRecord in a dict."""
    import resource

    from encord_provider.ledger.records import LedgerRecord

    path = next((Path(root) / "ledger/shards/s0000/snapshots").iterdir())
    started = time.perf_counter()
    data = path.read_bytes()
    table = {}
    for line in data.split(b"\n")[1:-1]:
        parsed = json.loads(line)
        if "key" in parsed:
            table[parsed["key"]] = LedgerRecord.from_json(parsed)
    return {"records": len(table), "load_s": round(time.perf_counter() - started, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}  # fmt: skip


def _subprocess(function: str, root: str, records: int) -> dict[str, Any]:
    code = (
        f"import json, bench.bench_ledger_shards as b; print(json.dumps(b.{function}({root!r}, {records})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run() -> dict[str, Any]:
    results: dict[str, Any] = {"target_peak_rss_mb": TARGET_MB, "whole_ledger_records": {}}
    for records in SIZES:
        with tempfile.TemporaryDirectory(prefix="bench-ledger-") as root:
            generated = _subprocess("generate", root, records)
            figures = {**_subprocess("measure", root, records), "snapshot_mb": generated["snapshot_mb"]}
            if records == SIZES[0]:
                results["baseline_unsharded_loader"] = _subprocess("baseline", root, records)
        figures["target_met"] = figures["peak_rss_mb"] < TARGET_MB
        results[f"shard_{records // 1000}k"] = figures
        results["whole_ledger_records"][f"shard_{records // 1000}k"] = records * (OTHER_SHARDS + 1)
    base, ours = results["baseline_unsharded_loader"], results[f"shard_{SIZES[0] // 1000}k"]
    results["ratio_baseline_to_ours_rss_100k"] = round(base["peak_rss_mb"] / ours["peak_rss_mb"], 2)
    results["target_met"] = all(results[f"shard_{n // 1000}k"]["target_met"] for n in SIZES)
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
