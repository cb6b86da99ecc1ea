"""Manifest builder throughput and memory: 1M synthetic mixed records -> JSON chunks in a temp dir.

Targets: >= 200k objects/s and < 150 MB peak RSS growth. The build runs in a fresh subprocess so the
RSS baseline is clean: it is the peak RSS after importing the modules, before any record is made;
`rss_growth_mb` is the child's peak above it and `peak_rss_mb` the child's absolute peak. Records are generated lazily (a listing streams them; 1M pre-built records would
themselves take ~300 MB). `objects_per_s` is the builder's own rate: the time to merely generate the
same records (measured first, in the same process) is subtracted; `end_to_end_objects_per_s` keeps it.
CPU time (process_time) is reported beside wall time because the machine may be shared.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any

N_OBJECTS = 1_000_000
TARGET_RATE = 200_000
TARGET_RSS_MB = 150

_CHILD = r"""
import json, resource, sys, tempfile, time
from datetime import datetime, timezone
from encord_provider.manifests import LocalDirSink, ManifestConfig, build_manifests
from encord_provider.storage.records import ObjectRecord

n, out_dir, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
stamp = datetime(2024, 1, 1, tzinfo=timezone.utc)
EXTS = ("jpg",) * 14 + ("png", "mp4", "wav", "pdf", "txt", "dcm", "xyz")

def records():
    for i in range(n):
        folder = i // 500
        ext = EXTS[i % len(EXTS)]
        key = f"data/f{folder:05d}/obj{i:08d}.{ext}"
        yield ObjectRecord(f"https://bkt.s3.eu-west-1.amazonaws.com/{key}", key, 1000 + i % 5000, "etag", stamp)

def rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

base = rss_kb()  # peak so far: interpreter + imported modules, before any record exists
cpu, wall = time.process_time(), time.perf_counter()
for _ in records():
    pass
gen_cpu, gen_wall = time.process_time() - cpu, time.perf_counter() - wall
cpu, wall = time.process_time(), time.perf_counter()
summary = build_manifests(records(), ManifestConfig(image_mode=mode), LocalDirSink(out_dir))
build_cpu, build_wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({
    "build_cpu": build_cpu, "build_wall": build_wall, "gen_cpu": gen_cpu, "gen_wall": gen_wall,
    "rss_growth_mb": (rss_kb() - base) / 1024, "peak_rss_mb": rss_kb() / 1024, "chunks": len(summary.chunks),
    "entries": summary.n_entries, "rejected": summary.n_rejected, "registered": summary.n_registered_objects,
}))
"""


def measure(n_objects: int, image_mode: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out_dir:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(n_objects), out_dir, image_mode],
            check=True,
            capture_output=True,
            text=True,
        )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["objects_per_s"] = round(n_objects / max(figures["build_cpu"] - figures["gen_cpu"], 1e-9))
    figures["end_to_end_objects_per_s"] = round(n_objects / figures["build_cpu"])
    figures["wall_objects_per_s"] = round(n_objects / figures["build_wall"])
    if figures["registered"] + figures["rejected"] != n_objects:
        raise AssertionError(f"objects lost: {figures}")
    return figures


def run() -> dict[str, object]:
    single = measure(N_OBJECTS, "single")
    grouped = measure(N_OBJECTS, "group")
    return {
        "objects": N_OBJECTS,
        "objects_per_s": single["objects_per_s"],
        "end_to_end_objects_per_s": single["end_to_end_objects_per_s"],
        "wall_objects_per_s": single["wall_objects_per_s"],
        "rss_growth_mb": round(single["rss_growth_mb"], 1),
        "peak_rss_mb": round(single["peak_rss_mb"], 1),
        "chunks": single["chunks"],
        "grouped_objects_per_s": grouped["objects_per_s"],
        "grouped_rss_growth_mb": round(grouped["rss_growth_mb"], 1),
        "grouped_peak_rss_mb": round(grouped["peak_rss_mb"], 1),
        "target_objects_per_s": TARGET_RATE,
        "target_rss_growth_mb": TARGET_RSS_MB,
        "meets_targets": single["objects_per_s"] >= TARGET_RATE and single["rss_growth_mb"] < TARGET_RSS_MB,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
