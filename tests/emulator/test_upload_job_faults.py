"""Emulator upload jobs under a lost response, with a processing time, and their status call, via the SDK."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from encord.exceptions import UnknownException
from encord.orm.dataset import LongPollingStatus

pytestmark = pytest.mark.timeout(120)
BUCKET = "jobs-faults"


@pytest.fixture
def folder_and_integration(
    encord_emulator: Any, encord_client: Any, s3_client: Any, moto_endpoint: str
) -> Iterator[tuple[Any, str]]:
    from demo.media import image_bytes

    s3_client.create_bucket(Bucket=BUCKET)
    for index in range(3):
        s3_client.put_object(Bucket=BUCKET, Key=f"img_{index}.jpg", Body=image_bytes(8, 8, (index, 2, 3)))
    encord_emulator.admin_post(
        "/admin/seed",
        {"integrations": [{"title": "jobs-aws", "provider": "aws", "endpoint_url": moto_endpoint}]},
    )
    (integration,) = encord_client.get_cloud_integrations(filter_integration_titles=["jobs-aws"])
    folder = encord_client.create_storage_folder(f"jobs-{uuid.uuid4().hex[:8]}")
    yield folder, str(integration.id)
    encord_emulator.admin_post("/admin/faults", {"rules": []})
    encord_emulator.admin_post("/admin/seed", {"settings": {"upload_job_processing_seconds": 0}})


def _manifest() -> dict[str, Any]:
    images = [{"objectUrl": f"s3://{BUCKET}/img_{i}.jpg", "title": f"img_{i}.jpg"} for i in range(3)]
    return {"images": images, "skip_duplicate_urls": True}


def _wait_for_items(folder: Any, count: int, timeout: float = 20.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        items = list(folder.list_items())
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def test_lost_response_on_job_start_still_starts_the_job(
    encord_emulator: Any, folder_and_integration: tuple[Any, str]
) -> None:
    folder, integration_id = folder_and_integration
    encord_emulator.admin_post(
        "/admin/faults",
        {"rules": [{"pattern": "^POST /v2/public/storage/folders/.*/data-upload-jobs$", "mode": "lost_response",
                    "error_rate": 1.0, "status": 502, "max_faults": 1}]},
    )  # fmt: skip
    with pytest.raises(UnknownException, match="lost response"):
        folder.add_private_data_to_folder_start(integration_id, _manifest(), ignore_errors=True)
    items = _wait_for_items(folder, 3)
    assert sorted(i.name for i in items) == ["img_0.jpg", "img_1.jpg", "img_2.jpg"]
    (rule,) = encord_emulator.admin_get("/admin/faults")["rules"]
    assert (rule["mode"], rule["matched"], rule["injected"]) == ("lost_response", 1, 1)


def test_lost_response_is_not_sent_for_failed_requests(
    encord_emulator: Any, encord_client: Any, folder_and_integration: tuple[Any, str]
) -> None:
    encord_emulator.admin_post(
        "/admin/faults",
        {"rules": [{"pattern": "^GET /v2/public/storage/folders/", "mode": "lost_response", "error_rate": 1.0,
                    "status": 504}]},
    )  # fmt: skip
    from encord.exceptions import ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError):  # the real 404, not a 504
        encord_client.get_storage_folder(uuid.uuid4())
    assert encord_emulator.admin_get("/admin/faults")["rules"][0]["injected"] == 0


def test_lost_response_on_a_legacy_rpc(
    encord_emulator: Any, encord_client: Any, folder_and_integration: tuple[Any, str]
) -> None:
    from encord.orm.dataset import StorageLocation

    folder, integration_id = folder_and_integration
    job = folder.add_private_data_to_folder_start(integration_id, _manifest(), ignore_errors=True)
    state = folder.add_private_data_to_folder_get_result(job, timeout_seconds=20)
    dataset_hash = encord_client.create_dataset(
        f"lost-{uuid.uuid4().hex[:6]}", StorageLocation.CORD_STORAGE, create_backing_folder=False
    ).dataset_hash
    dataset = encord_client.get_dataset(dataset_hash)
    encord_emulator.admin_post(
        "/admin/faults",
        {"rules": [{"pattern": "^RPC dataset:datasetlinkitems:", "mode": "lost_response", "error_rate": 1.0,
                    "status": 502}]},
    )  # fmt: skip
    with pytest.raises(Exception):  # noqa: B017 - the SDK maps a bare 5xx envelope to one of several types
        dataset.link_items([item.item_uuid for item in state.items_with_names])
    rows = list(encord_client.get_dataset(dataset_hash).data_rows)
    assert len(rows) == 3


def test_processing_time_keeps_the_job_pending(
    encord_emulator: Any, folder_and_integration: tuple[Any, str]
) -> None:
    folder, integration_id = folder_and_integration
    encord_emulator.admin_post("/admin/seed", {"settings": {"upload_job_processing_seconds": 1.5}})
    started = time.monotonic()
    job = folder.add_private_data_to_folder_start(integration_id, _manifest(), ignore_errors=True)
    pending = folder.add_private_data_to_folder_get_result(job, timeout_seconds=0)
    assert pending.status == LongPollingStatus.PENDING
    assert (pending.units_pending_count, pending.units_done_count, pending.items_with_names) == (3, 0, [])
    assert list(folder.list_items()) == []
    done = folder.add_private_data_to_folder_get_result(job, timeout_seconds=20)
    assert time.monotonic() - started >= 1.5
    assert done.status == LongPollingStatus.DONE
    assert (done.units_pending_count, done.units_done_count, done.units_error_count) == (0, 3, 0)
    assert sorted(i.name for i in done.items_with_names) == ["img_0.jpg", "img_1.jpg", "img_2.jpg"]
    assert {str(i.uuid) for i in folder.list_items()} == {str(i.item_uuid) for i in done.items_with_names}
