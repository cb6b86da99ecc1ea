"""Datasets: create, get, link items, data rows, mirrors of backing folders (real SDK)."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from encord.exceptions import ResourceExistsError, ResourceNotFoundError
from encord.orm.dataset import DataLinkDuplicatesBehavior, StorageLocation
from encord.storage import StorageFolder
from encord.user_client import EncordUserClient
from PIL import Image

BUCKET = "dsraw"


@pytest.fixture
def registered(
    encord_client: EncordUserClient, encord_s3_integration: str, s3_client: Any
) -> tuple[StorageFolder, list[Any]]:
    """A folder with three registered images a.jpg, b.jpg, c.jpg."""
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20)).save(buffer, "JPEG")
    s3_client.create_bucket(Bucket=BUCKET)
    for name in "abc":
        s3_client.put_object(Bucket=BUCKET, Key=f"{name}.jpg", Body=buffer.getvalue())
    folder = encord_client.create_storage_folder(f"ds-{uuid.uuid4().hex[:8]}")
    job = folder.add_private_data_to_folder_start(
        encord_s3_integration,
        {"images": [{"objectUrl": f"s3://{BUCKET}/{n}.jpg", "clientMetadata": {"n": n}} for n in "abc"]},
    )
    assert folder.add_private_data_to_folder_get_result(job, timeout_seconds=60).units_done_count == 3
    return folder, sorted(folder.list_items(), key=lambda item: item.name)


def test_link_items_and_read_rows(
    encord_client: EncordUserClient, registered: tuple[StorageFolder, list[Any]]
) -> None:
    _, items = registered
    created = encord_client.create_dataset(
        f"ds-{uuid.uuid4()}", StorageLocation.AWS, create_backing_folder=False
    )
    assert created.backing_folder_uuid is None
    dataset = encord_client.get_dataset(created.dataset_hash)
    assert dataset.data_rows == []
    rows = dataset.link_items([items[0].uuid, items[1].uuid])
    assert [(row.title, row.backing_item_uuid) for row in rows] == [
        ("a.jpg", items[0].uuid),
        ("b.jpg", items[1].uuid),
    ]
    assert rows[0].width == 30 and rows[0].file_link == f"s3://{BUCKET}/a.jpg"
    again = dataset.link_items([items[1].uuid, items[2].uuid])  # SKIP: b is already linked
    assert [row.title for row in again] == ["c.jpg"]
    fresh = encord_client.get_dataset(created.dataset_hash)
    assert sorted(row.title for row in fresh.data_rows) == ["a.jpg", "b.jpg", "c.jpg"]
    assert fresh.storage_location == StorageLocation.AWS
    assert [row.title for row in fresh.list_data_rows(title_eq="b.jpg")] == ["b.jpg"]
    assert len(fresh.list_data_rows(title_like="%.jpg", data_types=None)) == 3
    assert fresh.list_data_rows(data_hashes=[rows[0].uid])[0].title == "a.jpg"
    assert {item.name for item in registered[0].list_items(is_in_dataset=True)} == {"a.jpg", "b.jpg", "c.jpg"}


def test_duplicate_behaviours(
    encord_client: EncordUserClient, registered: tuple[StorageFolder, list[Any]]
) -> None:
    _, items = registered
    created = encord_client.create_dataset(
        f"dup-{uuid.uuid4()}", StorageLocation.AWS, create_backing_folder=False
    )
    dataset = encord_client.get_dataset(created.dataset_hash, include_data_rows=False)
    dataset.link_items([items[0].uuid])
    with pytest.raises(ResourceExistsError):
        dataset.link_items([items[0].uuid], DataLinkDuplicatesBehavior.FAIL)
    (duplicate,) = dataset.link_items([items[0].uuid], DataLinkDuplicatesBehavior.DUPLICATE)
    assert duplicate.uid != str(items[0].uuid) and duplicate.backing_item_uuid == items[0].uuid
    assert len(encord_client.get_dataset(created.dataset_hash).data_rows) == 2
    with pytest.raises(ResourceNotFoundError):
        dataset.link_items([uuid.uuid4()])


def test_backing_folder_is_mirrored(encord_client: EncordUserClient, encord_s3_integration: str,
                                    registered: tuple[StorageFolder, list[Any]]) -> None:  # fmt: skip
    created = encord_client.create_dataset(
        f"mirror-{uuid.uuid4()}", StorageLocation.AWS, create_backing_folder=True
    )
    backing = encord_client.get_storage_folder(created.backing_folder_uuid)
    assert backing.path_to_root[0].synced_dataset_hash == uuid.UUID(created.dataset_hash)
    synced = {
        folder.uuid for folder in encord_client.find_storage_folders(search="mirror-", dataset_synced=True)
    }
    assert backing.uuid in synced
    job = backing.add_private_data_to_folder_start(
        encord_s3_integration, {"images": [{"objectUrl": f"s3://{BUCKET}/a.jpg"}]}
    )
    backing.add_private_data_to_folder_get_result(job, timeout_seconds=60)
    rows = encord_client.get_dataset(created.dataset_hash).data_rows
    assert [row.title for row in rows] == ["a.jpg"]


def test_unknown_dataset_is_not_found(encord_client: EncordUserClient) -> None:
    with pytest.raises(ResourceNotFoundError):
        encord_client.get_dataset(str(uuid.uuid4()))
