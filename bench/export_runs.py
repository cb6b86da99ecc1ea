"""The two measured exports of `bench_export`, each run in a fresh child process (clean peak RSS).

`naive`: the loop a user would write with the SDK: `list_label_rows_v2()`, then bundles of 500 rows
(`initialise_labels` in one `create_bundle`) and one `to_encord_dict()` JSON line per row.
`ours` / `ours_json`: `export_labels` with `SdkLabelSource` (all default formats / Encord JSON only, the
naive loop's output). `raw_bundled`: the naive loop minus the SDK's object model, to show what that costs.

Child: `python -m bench.export_runs` reads a JSON config on stdin (`mode`, `url`, `private_key`,
`project_hash`, `emulator_pid`, `workers`) and prints one JSON line: rows (and, for ours, how many the
normaliser left to the SDK's object model), wall and CPU seconds of the
export, the emulator's CPU seconds over the same interval, peak RSS and RSS after imports.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NAIVE_BUNDLE = 500
FORMATS = {"ours": ("json", "coco", "parquet"), "ours_json": ("json",)}


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of another process (the emulator), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def naive_loop(project: Any, out: Path) -> int:
    rows = [row for row in project.list_label_rows_v2() if row.label_hash is not None]
    with (out / "labels.jsonl").open("w", encoding="utf-8") as fh:
        for start in range(0, len(rows), NAIVE_BUNDLE):
            bundle_rows = rows[start : start + NAIVE_BUNDLE]
            with project.create_bundle(bundle_size=NAIVE_BUNDLE) as bundle:
                for row in bundle_rows:
                    row.initialise_labels(bundle=bundle)
            for row in bundle_rows:
                fh.write(json.dumps(row.to_encord_dict(), default=str) + "\n")
    return len(rows)


def raw_bundled_loop(project: Any, out: Path) -> int:
    """For comparison only (the export does not do this): the naive loop without the SDK's object model.

    The same bundled label-row request `initialise_labels` makes (`project._client.get_label_rows`, a private
    SDK call), its server dicts written as they come, with no `from_labels_dict` / `to_encord_dict`.
    """
    hashes = [str(row.label_hash) for row in project.list_label_rows_v2() if row.label_hash is not None]
    with (out / "labels.jsonl").open("w", encoding="utf-8") as fh:
        for start in range(0, len(hashes), NAIVE_BUNDLE):
            for label_dict in project._client.get_label_rows(hashes[start : start + NAIVE_BUNDLE], False):
                fh.write(json.dumps(label_dict, default=str) + "\n")
    return len(hashes)


def our_export(project: Any, out: Path, formats: tuple[str, ...], workers: int) -> dict[str, int]:
    """The export's counts (`label_rows`, and how many rows the normaliser left to the SDK)."""
    from encord_provider.exports.run import ExportSpec, export_labels
    from encord_provider.exports.source import SdkLabelSource
    from encord_provider.storage.local import LocalStore

    spec = ExportSpec(
        project="bench", project_hash=project.project_hash, base_prefix="labels", formats=formats
    )
    result = export_labels(LocalStore(out), SdkLabelSource(project, workers=workers), spec)
    return dict(result.counts)


def measure(config: dict[str, Any]) -> dict[str, Any]:
    import encord_provider.exports.run  # noqa: F401  (imported before the baseline in every mode)
    from encord.user_client import EncordUserClient

    project = EncordUserClient.create_with_ssh_private_key(
        config["private_key"], domain=config["url"]
    ).get_project(config["project_hash"])
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mode, emulator_pid = config["mode"], int(config["emulator_pid"])
    with tempfile.TemporaryDirectory(prefix="bench-export-sdk-") as tmp:
        server_started = process_cpu_seconds(emulator_pid)
        cpu_started, started = time.process_time(), time.perf_counter()
        counts: dict[str, int] = {}
        if mode == "naive":
            rows = naive_loop(project, Path(tmp))
        elif mode == "raw_bundled":
            rows = raw_bundled_loop(project, Path(tmp))
        else:
            counts = our_export(project, Path(tmp), FORMATS[mode], int(config["workers"]))
            rows = counts["label_rows"]
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        server = process_cpu_seconds(emulator_pid) - server_started
    return {
        "mode": mode,
        "rows": rows,
        "rows_rendered_by_sdk": counts.get("rows_rendered_by_sdk", 0),
        "wall_s": round(wall, 3),
        "client_cpu_s": round(cpu, 3),
        "server_cpu_s": round(server, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_after_imports_mb": round(baseline_mb, 1),
    }


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.stdin.read()))))
