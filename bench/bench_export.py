"""Export benchmark: 100k synthetic label rows (SDK dict shape, built offline) -> COCO + Parquet + JSONL.

`run()` measures in a fresh subprocess so peak RSS is the exporter's own: rows/s and ru_maxrss (target < 500 MB).
`python -m bench.bench_export` prints the figures; `--worker N` is the measured child.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = 100_000
RSS_LIMIT_MB = 500


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


def run(rows: int = ROWS) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_export", "--worker", str(rows)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(int(sys.argv[2]))))
    else:
        print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else ROWS), indent=2))
