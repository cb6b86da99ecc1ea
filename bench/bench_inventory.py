"""Streaming a bucket inventory instead of LISTing the bucket: rows/s and peak RSS.

Two S3 inventories are generated on local disk: BENCH_INVENTORY_ROWS (default 10M) rows as Parquet
(2M rows a data file, the fastest to generate) and BENCH_INVENTORY_CSV_ROWS (default 1M) rows as
gzip-compressed CSV with URL-encoded keys. Each is streamed in a fresh subprocess through
`open_inventory(...).records(source, prefix)` into `ObjectRecord`s whose URLs an `S3Store` builds (no
request is sent), and nothing is kept, as the plan step would consume it. Peak RSS is the child's
`ru_maxrss`; `rss_growth_mb` is its peak above the RSS after imports.

Baselines, measured in the same run: `raw_rows_per_s` reads the same columns of the same files with
pyarrow alone (decode and `to_pylist`, no record), and `url_only_rows_per_s` is `S3Store.object_url` on
2M keys, a share of the work a LIST-based listing pays too. Rates are per CPU second (wall-clock rates
beside them). Targets: peak RSS <= 300 MB (the issue's per-task budget) whatever the row count, and
>= 50k rows/s (10M rows in under 200 s). Most of the peak is the baseline after imports (pyarrow, and the
boto3 client of the S3Store that builds URLs); `rss_growth_mb` is what streaming adds.
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

N_PARQUET = int(os.environ.get("BENCH_INVENTORY_ROWS", "10000000"))
N_CSV = int(os.environ.get("BENCH_INVENTORY_CSV_ROWS", "1000000"))
TARGET_RSS_MB = 300
TARGET_ROWS_PER_S = 50_000

_CHILD = r"""
import json, resource, sys, time
mode, uri, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
from encord_provider.storage.inventory import InventoryStats, open_inventory
from encord_provider.storage.s3 import S3Store
import pyarrow.parquet as pq

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

source = S3Store("source-bucket", region="eu-west-1")
inventory = open_inventory(uri, "s3")
base = rss_mb()
cpu, wall = time.process_time(), time.perf_counter()
stats = InventoryStats()
if mode == "ours":
    rows = sum(1 for _ in inventory.records(source, prefix, stats=stats))
elif mode == "raw":  # the same columns of the same Parquet files, decoded by pyarrow alone
    rows = 0
    for data_file in inventory.files:
        parquet = pq.ParquetFile("/" + data_file.key)
        for batch in parquet.iter_batches(batch_size=65536, columns=["key", "size", "last_modified_date", "e_tag"]):
            for name in batch.schema.names:
                batch.column(name).to_pylist()
            rows += batch.num_rows
else:  # url: the URL building alone, on as many keys
    n = int(mode.split(":")[1])
    rows = sum(1 for i in range(n) if source.object_url(f"data/dt=2024-01-{i % 28 + 1:02d}/cam{i % 7}/img_{i:010d}.jpg"))
print(json.dumps({
    "rows": rows, "cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
    "peak_rss_mb": rss_mb(), "rss_growth_mb": rss_mb() - base, "stats": stats.as_dict(),
}))
"""


def child(mode: str, uri: str, prefix: str = "") -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, uri, prefix], check=True, capture_output=True, text=True
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def rate(figures: dict[str, Any]) -> dict[str, Any]:
    """Rows per second of CPU time (the figure targets are checked on: the machine is shared, so wall time
    also counts other jobs' share of the 2 cores) and of wall time."""
    return {
        "rows_per_s": round(figures["rows"] / max(figures["cpu_s"], 1e-9)),
        "wall_rows_per_s": round(figures["rows"] / figures["wall_s"]),
        "wall_s": round(figures["wall_s"], 1),
    }


def stream(root: str, n_rows: int, generate_s: float) -> tuple[str, dict[str, Any]]:
    """Stream the inventory under `root` in a child; its URI and the figures every format reports."""
    uri = f"file://{root}/inventories/source-bucket/daily/"
    ours = child("ours", uri)
    if ours["rows"] != n_rows or ours["stats"]["rows_yielded"] != n_rows:
        raise AssertionError(f"streamed {ours['rows']} of {n_rows} rows: {ours['stats']}")
    return uri, {
        "rows": n_rows,
        "data_files": ours["stats"]["files_total"],
        "inventory_mb": round(sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file()) / 1e6, 1),
        "generate_s": round(generate_s, 1),
        **rate(ours),
        "peak_rss_mb": round(ours["peak_rss_mb"], 1),
        "rss_growth_mb": round(ours["rss_growth_mb"], 1),
        "batches": ours["stats"]["batches"],
    }


def bench_parquet(root: str) -> dict[str, Any]:
    from encord_provider.storage.local import LocalStore

    from tests.inventory_files import write_s3_parquet_synthetic

    started = time.perf_counter()
    write_s3_parquet_synthetic(LocalStore(root), N_PARQUET)
    uri, figures = stream(root, N_PARQUET, time.perf_counter() - started)
    raw = rate(child("raw", uri))["rows_per_s"]
    selective = child("ours", uri, "data/dt=2024-01-05/")  # 1 row in 28 kept
    return {
        **figures,
        "raw_rows_per_s": raw,
        "ratio_ours_to_raw": round(figures["rows_per_s"] / raw, 3),
        "url_only_rows_per_s": rate(child(f"url:{min(N_PARQUET, 2_000_000)}", uri))["rows_per_s"],
        "prefix_1_in_28_rows_read_per_s": round(
            selective["stats"]["rows_read"] / max(selective["cpu_s"], 1e-9)
        ),
        "prefix_1_in_28_peak_rss_mb": round(selective["peak_rss_mb"], 1),
    }


def bench_csv(root: str) -> dict[str, Any]:
    from encord_provider.storage.local import LocalStore

    from tests.inventory_files import synthetic_rows, write_s3_inventory

    started = time.perf_counter()
    write_s3_inventory(LocalStore(root), synthetic_rows(N_CSV), file_format="csv", rows_per_file=250_000)
    return stream(root, N_CSV, time.perf_counter() - started)[1]


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as parquet_root:
        parquet = bench_parquet(parquet_root)
    with tempfile.TemporaryDirectory(prefix="bench-inventory-csv-") as csv_root:
        csv = bench_csv(csv_root)
    meets = all(
        figures["peak_rss_mb"] <= TARGET_RSS_MB and figures["rows_per_s"] >= TARGET_ROWS_PER_S
        for figures in (parquet, csv)
    )
    return {
        "parquet": parquet,
        "csv_gz": csv,
        "target_peak_rss_mb": TARGET_RSS_MB,
        "target_rows_per_s": TARGET_ROWS_PER_S,
        "meets_targets": meets,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
