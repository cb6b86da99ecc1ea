"""`encord_ingest__<name>` end to end on GCS (fake-gcs-server) and Azure Blob (Azurite), staging included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dags.test_ingest_support import (
    dataset_rows,
    folder_items,
    pipeline_config,
    put_demo_media,
    run_dag,
    seed_integration,
    task_states,
    write_pipelines,
    xcom,
)

pytestmark = pytest.mark.timeout(400)
EXPECTED_NAMES = sorted(
    ["in/img_0.jpg", "in/img_1.jpg", "in/img_2.jpg", "in/img_3.jpg", "in/doc.pdf", "in/clip.mp4", "in/notes.txt",
     "in/ct"]
)  # fmt: skip


def _check_run_and_rerun(dag_id: str, config: dict[str, Any], encord_client: Any) -> None:
    first = run_dag(dag_id)
    assert first.state == "success", task_states(first)
    items = folder_items(encord_client, config["folder"]["name"])
    assert sorted(i.name for i in items) == EXPECTED_NAMES
    assert {r.backing_item_uuid for r in dataset_rows(encord_client, first)} == {i.uuid for i in items}
    assert xcom(first, "finalize")["states"] == {"linked": 10, "rejected": 1}

    second = run_dag(dag_id)
    assert second.state == "success", task_states(second)
    assert {i.uuid for i in folder_items(encord_client, config["folder"]["name"])} == {i.uuid for i in items}


def test_gcs_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gcs_client: Any, gcs_endpoint: str, encord_emulator: Any,
    encord_client: Any,
) -> None:  # fmt: skip
    media = gcs_client.create_bucket(f"media-{tmp_path.name[-8:].lower().replace('_', '-')}")
    staging = gcs_client.create_bucket(f"staging-{tmp_path.name[-8:].lower().replace('_', '-')}")
    seed_integration(encord_emulator, "test-gcp", "gcp", endpoint_url=gcs_endpoint)
    config = pipeline_config(
        "gcs_t", "gcs", media.name, "gcp_test", f"gs://{staging.name}/encord", "test-gcp"
    )
    write_pipelines(tmp_path, monkeypatch, config)
    put_demo_media(lambda key, data: media.blob(key).upload_from_string(data))
    _check_run_and_rerun("encord_ingest__gcs_t", config, encord_client)


def test_azure_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blob_service: Any, azurite_conn_str: str, encord_emulator: Any,
    encord_client: Any,
) -> None:  # fmt: skip
    suffix = tmp_path.name[-8:].lower().replace("_", "-")
    media = blob_service.create_container(f"media-{suffix}")
    blob_service.create_container(f"staging-{suffix}")
    seed_integration(encord_emulator, "test-azure", "azure", connection_string=azurite_conn_str)
    config = pipeline_config(
        "az_t", "azure", media.container_name, "wasb_test", f"az://staging-{suffix}/encord", "test-azure"
    )
    write_pipelines(tmp_path, monkeypatch, config)
    put_demo_media(lambda key, data: media.upload_blob(key, data))
    _check_run_and_rerun("encord_ingest__az_t", config, encord_client)
