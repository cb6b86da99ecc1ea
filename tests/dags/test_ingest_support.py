"""Shared setup for the ingest DAG tests (imported by the other test_ingest_* modules; holds no tests).

Each test gets its own pipeline file (ENCORD_PIPELINES_FILE), a fresh folder/dataset name in the
session's Encord emulator, and freshly created buckets.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dag_runs import run_dag_test
from tests.dag_runs import xcom_value as xcom

ROOT = Path(__file__).resolve().parents[2]
INGEST_DAG_FILE = ROOT / "dags" / "encord_ingest.py"


def pipeline_config(name: str, cloud: str, source_bucket: str, source_conn: str, staging_uri: str,
                    integration: str, **overrides: Any) -> dict[str, Any]:  # fmt: skip
    tag = uuid.uuid4().hex[:8]
    config: dict[str, Any] = {
        "name": name,
        "source": {"cloud": cloud, "bucket": source_bucket, "prefix": "in/", "conn_id": source_conn},
        "encord_conn_id": "encord_test",
        "integration": {"title": integration},
        "folder": {"name": f"folder-{tag}"},
        "datasets": [{"title": f"dataset-{tag}"}],
        "chunking": {"max_entries": 3},
        "staging": {"uri": staging_uri, "conn_id": source_conn},
        "upload_poll_seconds": 0.2,
        "task_retries": 0,
        # A job start that answered 5xx is given 3 s (of no new items) before its entries are sent again.
        "registration": {"unknown_job_settle_minutes": 0.05},
    }
    for key, value in overrides.items():
        config[key] = value
    return config


def write_pipelines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *pipelines: dict[str, Any]) -> Path:
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump({"pipelines": list(pipelines), "projects": []}), encoding="utf-8")
    monkeypatch.setenv("ENCORD_PIPELINES_FILE", str(path))
    return path


def load_dag(dag_id: str) -> Any:
    """(Re)import the ingest DAG file with the current ENCORD_PIPELINES_FILE and return one DAG."""
    sys.modules.pop("encord_ingest", None)
    module = importlib.import_module("encord_ingest")
    return getattr(module, dag_id)


def run_dag(dag_id: str, **conf: Any) -> Any:
    dag = load_dag(dag_id)
    return run_dag_test(dag, run_conf=conf or None)


def task_states(dag_run: Any) -> dict[tuple[str, int], str]:
    return {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}


def folder_items(client: Any, folder_name: str) -> list[Any]:
    folders = [f for f in client.find_storage_folders(search=folder_name) if f.name == folder_name]
    assert len(folders) == 1, f"expected one folder {folder_name!r}, found {len(folders)}"
    return list(folders[0].list_items())


def dataset_rows(client: Any, dag_run: Any) -> list[Any]:
    """Rows of the (single) dataset the run's prepare task resolved."""
    (dataset_hash,) = xcom(dag_run, "prepare")["dataset_hashes"]
    return list(client.get_dataset(dataset_hash).data_rows)


def seed_integration(emulator: Any, title: str, provider: str, **fields: Any) -> None:
    emulator.admin_post("/admin/seed", {"integrations": [{"title": title, "provider": provider, **fields}]})


PutObject = Callable[[str, bytes], None]


def put_demo_media(put: PutObject, prefix: str = "in/") -> list[str]:
    """A small mix: 4 images, a PDF, a video, a text file, a 3-slice DICOM series, one unsupported file."""
    from demo.media import dicom_series, image_bytes, mp4_bytes, pdf_bytes

    objects = {f"{prefix}img_{i}.jpg": image_bytes(16, 16, (10 * i, 20, 30)) for i in range(4)}
    objects[f"{prefix}doc.pdf"] = pdf_bytes()
    objects[f"{prefix}clip.mp4"] = mp4_bytes()
    objects[f"{prefix}notes.txt"] = b"hello"
    for index, data in enumerate(dicom_series()):
        objects[f"{prefix}ct/s_{index}.dcm"] = data
    objects[f"{prefix}archive.zip"] = b"PK\x03\x04"
    for key, data in objects.items():
        put(key, data)
    return sorted(objects)


def print_durations(dag_run: Any) -> None:
    for ti in sorted(dag_run.get_task_instances(), key=lambda t: t.start_date or t.end_date):
        if ti.start_date and ti.end_date:
            print(f"{ti.task_id}[{ti.map_index}] {(ti.end_date - ti.start_date).total_seconds():.2f}s")


# -- exactly-once checks and Encord-side changes, for the scenario tests --------------------------


def staging_json(s3_client: Any, suffix: str, bucket: str = "staging") -> dict[str, Any]:
    """The one staging object whose key ends with `suffix` (e.g. `/resources.json`), parsed."""
    import json

    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    (key,) = [k for k in keys if k.endswith(suffix)]
    return dict(json.loads(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()))


def ledger_records(config: dict[str, Any]) -> dict[str, Any]:
    from encord_provider.config.ingest import IngestPipeline
    from encord_provider.ingest.stores import ledger_prefix, staging_store
    from encord_provider.ledger import Ledger

    pipeline = IngestPipeline.model_validate(config)
    if not pipeline.shards.hash and not pipeline.shards.prefixes and not pipeline.shards.derive:
        return Ledger(staging_store(pipeline), ledger_prefix(pipeline)).load().records
    from encord_provider.ingest.ledger_split import current_ledger_prefixes

    store = staging_store(pipeline)  # a sharded pipeline: every shard's records (each key in one shard)
    merged: dict[str, Any] = {}
    for prefix in current_ledger_prefixes(store, pipeline):
        records = dict(Ledger(store, prefix).load().records.items())
        assert not set(records) & set(merged), f"keys in two shards: {set(records) & set(merged)}"
        merged.update(records)
    return merged


def assert_exactly_once(
    s3_client: Any, encord_client: Any, config: dict[str, Any], bucket: str = "media"
) -> Any:
    """`check_exactly_once` over the bucket under the pipeline's prefix, its current folder and datasets."""
    from uuid import UUID

    from tests.ingest_invariants import check_exactly_once

    prefix = config["source"]["prefix"]
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    keys = [o["Key"] for o in listed if not o["Key"].endswith((".encord.json", "/"))]
    resources = staging_json(s3_client, "/resources.json")
    folder = encord_client.get_storage_folder(UUID(resources["folders"][config["folder"]["name"]]))
    rows = {h: list(encord_client.get_dataset(h).data_rows) for h in resources["datasets"].values()}
    return check_exactly_once(
        bucket_keys=keys, ledger_records=ledger_records(config), folder_items=list(folder.list_items()),
        dataset_rows=rows,
    )  # fmt: skip


def emulator_store(emulator: Any) -> Any:
    """The emulator's document store, opened beside the running server (SQLite in WAL mode)."""
    from encord_emulator.core.store import Store

    return Store(emulator.data_dir)


def upload_jobs_of(emulator: Any, folder_uuid: str) -> list[dict[str, Any]]:
    store = emulator_store(emulator)
    try:
        return list(store.query("upload_job", folder=folder_uuid))
    finally:
        store.close()


def delete_folder_in_encord(client: Any, folder_uuid: str) -> int:
    """Delete a folder with its items (which leave every dataset), through the SDK as a user would."""
    from uuid import UUID

    folder = client.get_storage_folder(UUID(folder_uuid))
    items = [item.uuid for item in folder.list_items()]
    folder.delete_storage_items(items)
    folder.delete()
    return len(items)


def delete_dataset_in_encord(emulator: Any, dataset_hash: str) -> None:
    """Delete a dataset and its data rows (in the emulator's store: it serves no dataset deletion)."""
    store = emulator_store(emulator)
    try:
        with store.transaction():
            for row in store.query("data_row", dataset_hash=dataset_hash):
                store.delete("data_row", f"{row['dataset_hash']}:{row['data_hash']}")
            store.delete("dataset", dataset_hash)
    finally:
        store.close()


def emulator_settings(emulator: Any, **settings: Any) -> None:
    emulator.admin_post("/admin/seed", {"settings": settings})


def asset_events(dag_run: Any) -> list[dict[str, Any]]:
    """`extra` of the asset events a run emitted (its announce task's)."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(AssetEvent).where(
            AssetEvent.source_dag_id == dag_run.dag_id, AssetEvent.source_run_id == dag_run.run_id
        )
        return [dict(event.extra) for event in session.scalars(query)]
