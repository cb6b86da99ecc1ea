"""Emulator listings: time per page at 10k vs 1M items, through the real encord SDK.

One generated world per size, written straight into the emulator's store (going through HTTP would take
hours at 1M): a folder of N storage items, a dataset linking all N as data rows, and a project over that
dataset with one task per row at its Annotate stage. Then an emulator serves that data dir and the SDK pages:

- folder items: ``folder.list_items(page_size=100)``;
- stage tasks: ``workflow.get_stage("Annotate").get_tasks()`` (100 a page);
- data rows: ``dataset.list_data_rows(data_hashes=<100 hashes>)``;
- label rows: ``project.list_label_rows_v2(data_hashes=<100 hashes>)``.

Both worlds are served at once and their pages are timed alternately (10k, 1M, 10k, ...), so the machine's
load hits both sizes alike. Each listing is warmed up once, then PAGES pages are timed per size; the median
seconds per page at 1M over 10k is the ratio (target <= 1.5: a page costs O(page + log n), not O(n)).

Run: ``python -m bench.bench_emulator_listing`` (prints JSON). ``BENCH_EMULATOR_SIZES=10000,1000000`` sets
the sizes; ``BENCH_EMULATOR_CODE=<dir holding encord_emulator>`` serves with another emulator version (to
measure a baseline on the same generated store).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from encord_emulator.core.store import Store
from encord_emulator.services.datasets.models import ROW_KIND, create_dataset, row_id
from encord_emulator.services.ontologies.models import put_ontology
from encord_emulator.services.projects.models import put_project
from encord_emulator.services.storage.models import ITEM_KIND, create_folder
from encord_emulator.services.workflow.graph import default_workflow_spec
from encord_emulator.services.workflow.models import TASK_KIND, new_task
from encord_emulator.testing import EmulatorProcess

SIZES = [int(n) for n in os.environ.get("BENCH_EMULATOR_SIZES", "10000,1000000").split(",")]
PAGES = int(os.environ.get("BENCH_EMULATOR_PAGES", "8"))
PAGE = 100
BATCH = 20_000
TARGET_RATIO = 1.5
OWNER = "bench@example.com"


# ---------------------------------------------------------------- the generated world


def _item(folder_uuid: str, index: int, stamp: str) -> dict[str, Any]:
    key = f"images/{index:08d}.jpg"
    return {
        "uuid": str(uuid.uuid4()), "parent": folder_uuid, "item_type": "image", "name": f"{index:08d}.jpg",
        "description": "", "url": f"s3://bench/{key}", "urls": [f"s3://bench/{key}"], "client_metadata": {},
        "owner": OWNER, "created_at": stamp, "last_edited_at": stamp, "integration_hash": None,
        "storage_location": "s3", "file_size": 1000, "mime_type": "image/jpeg", "width": 64, "height": 48,
    }  # fmt: skip


def generate_world(data_dir: Path, size: int) -> dict[str, str]:
    """The store of ``size`` items, rows and tasks; returns the folder, dataset and project ids."""
    store = Store(data_dir)
    try:
        _create_indexes(store)
        folder = create_folder(store, "bench", OWNER)
        dataset = create_dataset(store, "bench", OWNER)
        ontology = put_ontology(store, str(uuid.uuid4()), "bench", "", {"objects": [], "classifications": []})
        project = put_project(store, str(uuid.uuid4()), title="bench", description="", ontology_hash=ontology["uuid"],
                              dataset_hashes=[dataset["dataset_hash"]], workflow_spec=default_workflow_spec(),
                              creator_email=OWNER)  # fmt: skip
        stamp = "2026-01-01T00:00:00+00:00"
        for start in range(0, size, BATCH):
            items = [_item(folder["uuid"], index, stamp) for index in range(start, min(size, start + BATCH))]
            rows = {
                row_id(dataset["dataset_hash"], item["uuid"]): {"dataset_hash": dataset["dataset_hash"],
                    "data_hash": item["uuid"], "item_uuid": item["uuid"], "created_at": stamp}
                for item in items
            }  # fmt: skip
            tasks = [new_task(project, {**row, "data_title": "x"}, stamp) for row in rows.values()]
            with store.transaction():
                store.put_many(ITEM_KIND, {item["uuid"]: item for item in items})
                store.put_many(ROW_KIND, rows)
                store.put_many(TASK_KIND, {task["uuid"]: task for task in tasks})
        return {
            "folder": folder["uuid"],
            "dataset": dataset["dataset_hash"],
            "project": project["project_hash"],
        }
    finally:
        store.close()


def _create_indexes(store: Store) -> None:
    """The indexes the listings walk, made on the empty store (building them over 3M documents later costs
    minutes, and lazily that would land in the first timed page)."""
    next(store.scan(ITEM_KIND, "name", parent=""), None)
    next(store.scan(TASK_KIND, "created_at", project_hash="", stage_uuid=""), None)
    for field in ("parent", "project_hash", "data_hash", "status"):
        store.query("label_row", **{field: ""})


# ---------------------------------------------------------------- timing pages through the SDK

Pages = Iterator[Any]


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def listings(emulator: EmulatorProcess, world: dict[str, str]) -> dict[str, Callable[[], Pages]]:
    """Per listing, a function starting a fresh iterator whose every ``next`` fetches one page."""
    client = emulator.client()
    folder = client.get_storage_folder(uuid.UUID(world["folder"]))
    dataset = client.get_dataset(world["dataset"], include_data_rows=False)
    project = client.get_project(world["project"])
    stage = project.workflow.get_stage(name="Annotate")
    hashes = [
        str(item.uuid) for item in itertools.islice(folder.list_items(page_size=1000), PAGE * (PAGES + 1))
    ]

    def hash_pages() -> Iterator[list[str]]:
        return (hashes[start : start + PAGE] for start in range(0, len(hashes), PAGE))

    return {
        "folder_items": lambda: _chunks(iter(folder.list_items(page_size=PAGE)), PAGE),
        "stage_tasks": lambda: _chunks(iter(stage.get_tasks()), PAGE),
        "data_rows": lambda: (dataset.list_data_rows(data_hashes=page) for page in hash_pages()),
        "label_rows": lambda: (project.list_label_rows_v2(data_hashes=page) for page in hash_pages()),
    }


def time_interleaved(by_size: dict[int, dict[str, Callable[[], Pages]]]) -> dict[int, dict[str, float]]:
    """Median seconds per page, per size and listing; pages of the sizes alternate."""
    result: dict[int, dict[str, float]] = {size: {} for size in by_size}
    for listing in next(iter(by_size.values())):
        iterators = {size: funcs[listing]() for size, funcs in by_size.items()}
        for iterator in iterators.values():
            next(iterator)  # warm-up page
        times: dict[int, list[float]] = {size: [] for size in by_size}
        for _ in range(PAGES):
            for size, iterator in iterators.items():
                started = time.perf_counter()
                next(iterator)
                times[size].append(time.perf_counter() - started)
        for size in by_size:
            result[size][listing] = statistics.median(times[size])
    return result


@contextmanager
def _served(data_dir: Path) -> Iterator[EmulatorProcess]:
    code = os.environ.get("BENCH_EMULATOR_CODE")
    saved = os.environ.get("PYTHONPATH")
    if code:
        os.environ["PYTHONPATH"] = os.pathsep.join([code, saved or ""])
    try:
        emulator = EmulatorProcess(data_dir=data_dir)
        emulator.start(timeout=600)  # the start-up queries may build an index over the generated store
    finally:
        if code:
            os.environ.pop("PYTHONPATH") if saved is None else os.environ.update(PYTHONPATH=saved)
    try:
        yield emulator
    finally:
        emulator.close()


def run() -> dict[str, object]:
    dirs = {size: Path(tempfile.mkdtemp(prefix=f"bench-emulator-{size}-")) for size in SIZES}
    try:
        generate_s, worlds = {}, {}
        for size, data_dir in dirs.items():
            started = time.perf_counter()
            worlds[size] = generate_world(data_dir, size)
            generate_s[str(size)] = round(time.perf_counter() - started, 1)
        with ExitStack() as stack:
            emulators = {size: stack.enter_context(_served(data_dir)) for size, data_dir in dirs.items()}
            per_page = time_interleaved({size: listings(emulators[size], worlds[size]) for size in SIZES})
    finally:
        for data_dir in dirs.values():
            shutil.rmtree(data_dir, ignore_errors=True)
    small, large = per_page[SIZES[0]], per_page[SIZES[-1]]
    figures: dict[str, Any] = {}
    for listing in small:
        ratio = round(large[listing] / small[listing], 3)
        figures[listing] = {
            "ms_per_page": {str(size): round(per_page[size][listing] * 1000, 2) for size in SIZES},
            "ratio": ratio,
            "target": TARGET_RATIO,
            "target_met": ratio <= TARGET_RATIO,
        }
    return {
        "page_size": PAGE,
        "pages_timed": PAGES,
        "sizes": SIZES,
        "generate_seconds": generate_s,
        "listings": figures,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
