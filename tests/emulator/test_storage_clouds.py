"""Registration through GCP (fake-gcs-server) and Azure (Azurite) integrations, with signed URLs."""

from __future__ import annotations

import io
import uuid
from typing import Any

import requests
from encord.orm.dataset import LongPollingStatus
from encord.user_client import EncordUserClient
from PIL import Image


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def register_and_list(client: EncordUserClient, integration: str, urls: list[str]) -> tuple[Any, list[Any]]:
    folder = client.create_storage_folder(f"cloud-{uuid.uuid4().hex[:8]}")
    job = folder.add_private_data_to_folder_start(
        integration, {"images": [{"objectUrl": url} for url in urls]}, ignore_errors=True
    )
    result = folder.add_private_data_to_folder_get_result(job, timeout_seconds=60)
    return result, list(folder.list_items(get_signed_urls=True))


def test_gcs_registration(
    encord_client: EncordUserClient, encord_gcs_integration: str, gcs_client: Any
) -> None:
    bucket_name = f"gcs-{uuid.uuid4().hex[:8]}"
    bucket = gcs_client.create_bucket(bucket_name)
    body = png(12, 34)
    bucket.blob("pics/one.png").upload_from_string(body, content_type="image/png")
    result, items = register_and_list(encord_client, encord_gcs_integration, [
        f"gs://{bucket_name}/pics/one.png",
        f"https://storage.cloud.google.com/{bucket_name}/pics/missing.png",
    ])  # fmt: skip
    assert (result.status, result.units_done_count, result.units_error_count) == (
        LongPollingStatus.DONE,
        1,
        1,
    )
    assert "object not found" in result.unit_errors[0].error
    (item,) = items
    assert (item.width, item.height, str(item.storage_location.value)) == (12, 34, "gcp")
    assert requests.get(item.get_signed_url(), timeout=10).content == body


def test_azure_registration(
    encord_client: EncordUserClient, encord_azure_integration: str, blob_service: Any
) -> None:
    container = f"az{uuid.uuid4().hex[:8]}"
    blob_service.create_container(container)
    body = png(9, 8)
    blob_service.get_blob_client(container, "dir/two.png").upload_blob(body)
    account = blob_service.account_name
    result, items = register_and_list(encord_client, encord_azure_integration, [
        f"https://{account}.blob.core.windows.net/{container}/dir/two.png",
        f"https://{account}.blob.core.windows.net/{container}/dir/none.png",
    ])  # fmt: skip
    assert (result.units_done_count, result.units_error_count) == (1, 1)
    (item,) = items
    assert (item.width, item.height, str(item.storage_location.value)) == (9, 8, "azure")
    assert requests.get(item.get_signed_url(), timeout=10).content == body
