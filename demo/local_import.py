"""The demo's local import (issue 14, step 1 "Import Local Data"): files in a directory on the worker are
uploaded into Encord-hosted storage by `encord_ingest__demo_local`, run twice; the second run uploads nothing.

The directory is `LOCAL_DIR` (the `path` of the `demo_local` pipeline in include/pipelines.yaml), refilled
on every demo run.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from tests.dag_runs import xcom_value

LOCAL_DIR = Path("/tmp/encord-demo-scans")  # must match include/pipelines.yaml (demo_local.source.path)
PIPELINE = "demo_local"


def fill_directory() -> int:
    """A few files: two photos, a three-frame image group and a two-slice DICOM series."""
    from demo.media import dicom_series, image_bytes

    shutil.rmtree(LOCAL_DIR, ignore_errors=True)
    files = {f"scans/photos/photo_{i}.jpg": image_bytes(48, 32, (60 * i, 90, 200)) for i in range(2)}
    files.update(
        {f"scans/views/bench/view_{i}.png": image_bytes(24, 24, (20, 40 * i, 90), "PNG") for i in range(3)}
    )
    files.update({f"scans/ct/series1/slice_{i}.dcm": data for i, data in enumerate(dicom_series(slices=2))})
    for key, data in files.items():
        (LOCAL_DIR / key).parent.mkdir(parents=True, exist_ok=True)
        (LOCAL_DIR / key).write_bytes(data)
    return len(files)


def _run(label: str) -> dict[str, Any]:
    import encord_ingest

    started = time.perf_counter()
    dag_run = getattr(encord_ingest, f"encord_ingest__{PIPELINE}").test()
    if dag_run.state != "success":
        raise SystemExit(f"{label} failed ({dag_run.state})")
    registers = xcom_value(dag_run, "register") or []
    uploaded = sum(
        chunk["registered"] for chunk in (registers if isinstance(registers, list) else [registers])
    )
    print(f"   {label}: {dag_run.state} in {time.perf_counter() - started:.1f}s, uploaded {uploaded} files")
    return {"run": dag_run, "uploaded": uploaded, "prepare": xcom_value(dag_run, "prepare")}


def run_local_import(client: Any) -> dict[str, Any]:
    print(f"\n== Local import: {fill_directory()} files in {LOCAL_DIR}/scans/ -> Encord-hosted storage")
    first = _run("first local run")
    second = _run("second local run (same directory)")
    folder = client.get_storage_folder(UUID(first["prepare"]["folder_uuid"]))
    items = sorted(folder.list_items(), key=lambda item: item.name)
    print(f"   folder {folder.name!r} holds {len(items)} uploaded items:")
    for item in items:
        print(f"     {str(item.item_type.value):14} {item.name}")
    if second["uploaded"]:
        raise SystemExit(f"the second local run uploaded {second['uploaded']} files again")
    return {"uploaded_first": first["uploaded"], "uploaded_second": second["uploaded"], "items": len(items)}
