"""Local-source uploads (`ingest.local_upload`) through the real SDK and gateway against the Encord emulator,
with faults: a lost response after the registration started, a 5xx before anything happened, and a file
Encord refuses. Every file ends registered once or failed with a reason; no file is uploaded twice."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from encord_provider.encord_api import EncordApi
from encord_provider.encord_api.calls import RetryPolicy
from encord_provider.ingest.chunks import ChunkPlan, PlannedObject
from encord_provider.ingest.local_upload import LocalChunkUpload, UploadsInFlight
from encord_provider.ledger import Ledger
from encord_provider.storage.local import LocalStore

from tests.dags.test_ingest_support import emulator_store

JOB_START = "^POST /v2/public/storage/folders/[^/]+/data-upload-jobs$"


@pytest.fixture
def faults(encord_emulator: Any) -> Any:
    def configure(*rules: dict[str, Any]) -> None:
        encord_emulator.admin_post("/admin/faults", {"rules": list(rules)})

    yield configure
    configure()


def _chunk(tmp_path: Path, client: Any, settle: float) -> LocalChunkUpload:
    from demo.media import image_bytes

    source = LocalStore(tmp_path / "src")
    files = {f"in/img_{i}.jpg": image_bytes(12, 8, (30 * i, 0, 0)) for i in range(2)}
    files["in/fake.jpg"] = b"not an image at all"
    for key, data in files.items():
        source.write_bytes(key, data)
    staging = LocalStore(tmp_path / "staging")
    titles = {key.removeprefix("in/"): key for key in files}
    manifest = {"images": [{"objectUrl": source.object_url(k), "title": t} for t, k in titles.items()]}
    staging.write_bytes("runs/chunk-00000.json", json.dumps(manifest).encode())
    plan = ChunkPlan("chunk-00000", staging.uri("runs/chunk-00000.json"),
                     {t: [PlannedObject(k, source.stat(k).etag, source.object_url(k))] for t, k in titles.items()})  # fmt: skip
    folder = client.create_storage_folder(f"local-faults-{uuid.uuid4().hex[:8]}")
    api = EncordApi(client, conn_id="encord_test", retry=RetryPolicy(attempts=2, base_delay=0.01))
    return LocalChunkUpload(
        staging=staging, ledger=Ledger(staging, "ledger").scan(), api=api, source=source,
        plan_uri=staging.uri("runs/chunk-00000.plan.json"), plan=plan, folder_uuid=str(folder.uuid),
        markers_prefix="local-uploads/t", settle_seconds=settle, max_attempts=3,
    )  # fmt: skip


def _run_until_settled(make: Any, seconds: float = 20.0) -> list[Any]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return list(make().run())
        except UploadsInFlight:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _slots(emulator: Any, folder_uuid: str) -> int:
    store = emulator_store(emulator)
    try:
        return len(store.query("upload_slot", folder=folder_uuid))
    finally:
        store.close()


def test_a_lost_response_is_settled_from_the_folder_without_a_second_upload(
    tmp_path: Path, encord_client: Any, encord_emulator: Any, faults: Any
) -> None:
    first = _chunk(tmp_path, encord_client, settle=300.0)
    faults({"pattern": JOB_START, "mode": "lost_response", "error_rate": 1.0, "status": 502, "max_faults": 1})
    try:
        first.run()
    except UploadsInFlight:
        pass  # its registration job had not finished when the folder was asked
    records = {r.key: r for r in _run_until_settled(lambda: _chunk_again(first))}
    assert {k: str(r.state) for k, r in records.items()} == {
        "in/img_0.jpg": "registered", "in/img_1.jpg": "registered", "in/fake.jpg": "failed",
    }  # fmt: skip
    assert "not a readable image" in str(records["in/fake.jpg"].error)
    items = list(encord_client.get_storage_folder(uuid.UUID(first.folder_uuid)).list_items())
    assert sorted(i.name for i in items) == ["img_0.jpg", "img_1.jpg"]
    assert {records[f"in/img_{i}.jpg"].item_uuid for i in range(2)} == {str(i.uuid) for i in items}
    assert _slots(encord_emulator, first.folder_uuid) == 3  # one signed URL per file: nothing sent twice


def test_a_5xx_before_the_registration_sends_the_file_again_after_the_settle_time(
    tmp_path: Path, encord_client: Any, encord_emulator: Any, faults: Any
) -> None:
    first = _chunk(tmp_path, encord_client, settle=1.0)
    faults({"pattern": JOB_START, "error_rate": 1.0, "status": 503, "max_faults": 1})
    with pytest.raises(UploadsInFlight):
        first.run()
    time.sleep(1.2)
    records = {r.key: r for r in _chunk_again(first).run()}
    assert str(records["in/img_0.jpg"].state) == "registered"
    items = list(encord_client.get_storage_folder(uuid.UUID(first.folder_uuid)).list_items())
    assert sorted(i.name for i in items) == ["img_0.jpg", "img_1.jpg"]
    assert (
        _slots(encord_emulator, first.folder_uuid) == 4
    )  # img_0 twice: its first bytes were never registered


def _chunk_again(first: LocalChunkUpload) -> LocalChunkUpload:
    """The same chunk as a retry sees it: a new ledger scan, the same staging, folder and markers."""
    return LocalChunkUpload(
        staging=first.staging, ledger=Ledger(first.staging, "ledger").scan(), api=first.api, source=first.source,
        plan_uri=first.plan_uri, plan=first.plan, folder_uuid=first.folder_uuid, markers_prefix=first.markers_prefix,
        settle_seconds=first.settle_seconds, max_attempts=first.max_attempts,
    )  # fmt: skip
