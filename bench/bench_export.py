"""Export benchmarks.

`writers`: 100k synthetic label rows (SDK dict shape, built offline) -> COCO + Parquet + JSONL, in a fresh
subprocess: rows/s and peak RSS (target < 500 MB).

`sdk`: our export through the real SDK (`export_labels` + `SdkLabelSource`) against the naive bundled SDK
loop (`bench.export_runs.naive_loop`, 500 rows per bundle) on the same label rows of the same emulator
(`bench.export_world`), each run in a fresh child process, modes interleaved over the repetitions.
Reported: the wall-time ratio naive/ours (target >= 2x) for ours with every default format and ours with
Encord JSON only (the naive loop's output); client and emulator CPU per row; peak RSS of each at two row
counts (ours must not grow with rows); rows/s (median wall) of each mode and how many rows the export's
normaliser left to the SDK's object model (`exports.normalise`; 0 on these rows). `raw_bundled` (the naive loop without the SDK's object model, not
something the export does) shows how much of the naive loop is the SDK's parsing and re-rendering.

`python -m bench.bench_export` prints the figures; `--worker N` is the measured child of `writers`.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROWS = 100_000
RSS_LIMIT_MB = 500
SDK_ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "2000"))
# Peak RSS at two row counts, both past the bounded buffers (a Parquet row group fills at ~1,100 rows).
RSS_ROWS = tuple(int(n) for n in os.environ.get("BENCH_EXPORT_RSS_ROWS", "4000,16000").split(","))
SDK_REPETITIONS = int(os.environ.get("BENCH_EXPORT_REPETITIONS", "3"))
SDK_WORKERS = int(os.environ.get("BENCH_EXPORT_WORKERS", "2"))
TARGET_RATIO = 2.0
# The emulator re-reads and sorts a stage's tasks for every page it serves; at its default of 100 tasks a
# page, our task sweep would cost the emulator O(rows^2 / 100). Real Encord pages an index.
TASK_PAGE_SIZE = 1000
MODES = ("naive", "ours", "ours_json", "raw_bundled")
ROOT = Path(__file__).resolve().parents[1]


def _worker(rows: int) -> dict[str, object]:
    from encord_provider.exports.coco import CocoWriter
    from encord_provider.exports.jsonl import ChunkedJsonlWriter
    from encord_provider.exports.synthetic import synthetic_label_row, synthetic_ontology
    from encord_provider.exports.table import ParquetTableWriter

    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        coco = CocoWriter(out / "coco.json", synthetic_ontology(), "bench")
        table = ParquetTableWriter(out / "labels.parquet", synthetic_ontology())
        jsonl = ChunkedJsonlWriter(out, rows_per_file=50_000)
        for index in range(rows):
            row = synthetic_label_row(index)
            coco.add_row(row)
            table.add_row(row)
            jsonl.add_row(row)
        coco.close()
        table.close()
        jsonl.close()
        seconds = time.perf_counter() - start
        sizes = {p.name: p.stat().st_size for p in out.iterdir()}
        counts = coco.counts
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds, 1),
        "coco_annotations": counts["coco_annotations"],
        "table_rows": table.rows,
        "coco_mb": round(sizes["coco.json"] / 1e6, 1),
        "parquet_mb": round(sizes["labels.parquet"] / 1e6, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "rss_limit_mb": RSS_LIMIT_MB,
        "rss_ok": peak_mb < RSS_LIMIT_MB,
    }


def bench_writers(rows: int = ROWS) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_export", "--worker", str(rows)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _child(config: dict[str, Any]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.export_runs"],
        input=json.dumps(config), capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"export child {config['mode']} failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _per_row_ms(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs) / runs[0]["rows"] * 1000, 3)


def _ratios(runs: dict[str, list[dict[str, Any]]], mode: str, target: float | None) -> dict[str, Any]:
    """naive wall time / `mode`'s: of the best runs (least disturbed) and of the medians."""
    naive = [r["wall_s"] for r in runs["naive"]]
    mine = [r["wall_s"] for r in runs[mode]]
    median = statistics.median(naive) / statistics.median(mine)
    figures: dict[str, Any] = {
        "ratio_best": round(min(naive) / min(mine), 3),
        "ratio_median": round(median, 3),
    }
    if target is not None:
        figures.update(target=target, target_met=median >= target)
    return figures


def bench_sdk() -> dict[str, Any]:
    from encord_emulator.testing import EmulatorProcess

    from bench.export_world import build_world
    from tests.services import MotoServer

    moto = MotoServer()
    moto.start()
    emulator = EmulatorProcess(seed={"settings": {"task_page_size": TASK_PAGE_SIZE}})
    emulator.start()
    try:
        started = time.perf_counter()
        worlds = {rows: build_world(emulator, moto.url, rows) for rows in {SDK_ROWS, *RSS_ROWS}}
        seed_s = time.perf_counter() - started
        assert emulator.pid is not None

        def config(rows: int, mode: str) -> dict[str, Any]:
            return {"mode": mode, "url": emulator.url, "private_key": emulator.private_key,
                    "project_hash": worlds[rows].project_hash, "emulator_pid": emulator.pid,
                    "workers": SDK_WORKERS}  # fmt: skip

        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for rep in range(SDK_REPETITIONS):
            for mode in MODES if rep % 2 == 0 else tuple(reversed(MODES)):
                runs[mode].append(_child(config(SDK_ROWS, mode)))
        counts = {r["rows"] for mode_runs in runs.values() for r in mode_runs}
        if counts != {worlds[SDK_ROWS].rows}:
            raise RuntimeError(f"the exports disagree on the row count: {counts}")
        memory = {mode: {rows: _child(config(rows, mode)) for rows in RSS_ROWS} for mode in ("naive", "ours")}
    finally:
        emulator.close()
        moto.stop()
    return {
        "rows": SDK_ROWS,
        "repetitions": SDK_REPETITIONS,
        "workers": SDK_WORKERS,
        "seed_seconds": round(seed_s, 1),
        "ours_vs_naive": _ratios(runs, "ours", TARGET_RATIO),
        "ours_json_vs_naive": _ratios(runs, "ours_json", TARGET_RATIO),
        "raw_bundled_vs_naive": _ratios(runs, "raw_bundled", None),
        "rows_rendered_by_sdk": {mode: max(r["rows_rendered_by_sdk"] for r in runs[mode]) for mode in runs},
        "rows_per_second": {
            mode: round(runs[mode][0]["rows"] / statistics.median(r["wall_s"] for r in runs[mode]), 1)
            for mode in runs
        },  # fmt: skip
        "client_cpu_ms_per_row": {mode: _per_row_ms(r, "client_cpu_s") for mode, r in runs.items()},
        "emulator_cpu_ms_per_row": {mode: _per_row_ms(r, "server_cpu_s") for mode, r in runs.items()},
        "wall_seconds": {mode: [r["wall_s"] for r in mode_runs] for mode, mode_runs in runs.items()},
        "memory": {mode: _memory(by_rows) for mode, by_rows in memory.items()},
    }


def _memory(by_rows: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Peak RSS at each row count, and its growth per 1,000 rows between the two."""
    (small, first), (large, second) = sorted(by_rows.items())
    growth = (second["peak_rss_mb"] - first["peak_rss_mb"]) / (large - small) * 1000
    return {
        "peak_rss_mb": {str(rows): run["peak_rss_mb"] for rows, run in sorted(by_rows.items())},
        "rss_after_imports_mb": {
            str(rows): run["rss_after_imports_mb"] for rows, run in sorted(by_rows.items())
        },
        "growth_mb_per_1000_rows": round(growth, 2),
        "export_seconds": {str(rows): run["wall_s"] for rows, run in sorted(by_rows.items())},
    }


def run() -> dict[str, object]:
    return {"writers": bench_writers(), "sdk": bench_sdk()}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(int(sys.argv[2]))))
    elif len(sys.argv) == 2 and sys.argv[1] == "--sdk":
        print(json.dumps(bench_sdk(), indent=2))
    else:
        print(json.dumps(run(), indent=2))
