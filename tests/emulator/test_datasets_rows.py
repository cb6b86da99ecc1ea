"""Dataset data rows and their updates through the real SDK: DataRow.save / refetch_data, the deprecated
update_data_item, and delete_data (plain and mirror datasets; the data leaves the projects too)."""

from __future__ import annotations

import uuid
import warnings

import pytest
from encord.exceptions import InvalidArgumentsError, ResourceNotFoundError
from encord.orm.dataset import StorageLocation
from encord.user_client import EncordUserClient
from encord_emulator.testing import EmulatorProcess

from tests.emulator.test_projects_helpers import build_world, register_images


def test_data_row_save_updates_title_and_metadata_on_the_storage_item(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    world = build_world(encord_client, encord_emulator, moto_endpoint, images=2)
    dataset = encord_client.get_dataset(world.dataset_hash)
    row = next(r for r in dataset.data_rows if r.uid == world.item_uuids[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        row.title = "renamed.png"
        row.client_metadata = {"split": "train"}
        row.save()
    assert row.title == "renamed.png" and dict(row.client_metadata or {}) == {"split": "train"}
    item = encord_client.get_storage_item(world.item_uuids[0])
    assert (item.name, item.client_metadata) == ("renamed.png", {"split": "train"})
    (metadata,) = world.project().list_label_rows_v2(data_hashes=[world.item_uuids[0]])
    assert metadata.data_title == "renamed.png"


def test_data_row_refetch_signs_urls_and_fetches_metadata(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    import requests

    world = build_world(encord_client, encord_emulator, moto_endpoint, images=1)
    (row,) = encord_client.get_dataset(world.dataset_hash).data_rows
    assert row.signed_url is None
    row.refetch_data(signed_url=True, client_metadata=True)
    assert row.signed_url and requests.get(row.signed_url, timeout=10).content[:4] == b"\x89PNG"
    assert row.client_metadata == {}


def test_update_data_item_renames_and_unknown_data_is_an_error(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    world = build_world(encord_client, encord_emulator, moto_endpoint, images=1)
    dataset = encord_client.get_dataset(world.dataset_hash)
    with pytest.warns(DeprecationWarning):
        assert dataset.update_data_item(world.item_uuids[0], "new-title.png") is True
    assert encord_client.get_storage_item(world.item_uuids[0]).name == "new-title.png"
    with pytest.raises(ResourceNotFoundError), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset.update_data_item(str(uuid.uuid4()), "x")


def test_delete_data_leaves_the_items_and_removes_tasks_and_labels(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    world = build_world(encord_client, encord_emulator, moto_endpoint, images=3)
    project = world.project()
    rows = project.list_label_rows_v2()
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    dataset = encord_client.get_dataset(world.dataset_hash)
    dataset.delete_data([world.item_uuids[0], world.item_uuids[1]])
    dataset.refetch_data()
    assert [r.uid for r in dataset.data_rows] == [world.item_uuids[2]]
    assert [str(r.data_hash) for r in project.list_label_rows_v2()] == [world.item_uuids[2]]
    assert encord_client.get_storage_item(world.item_uuids[0]).name, "the storage item stays"
    with pytest.raises(ResourceNotFoundError):
        dataset.delete_data(world.item_uuids[0])


def test_delete_data_from_a_mirror_dataset_deletes_the_backing_items(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    uuids, _, _ = register_images(encord_client, encord_emulator, moto_endpoint, 2)
    source = encord_client.get_storage_folder(encord_client.get_storage_item(uuids[0]).parent_folder_uuid)
    created = encord_client.create_dataset(f"mirror-{uuid.uuid4().hex[:6]}", StorageLocation.AWS)
    mirror = encord_client.get_storage_folder(created.backing_folder_uuid)
    source.move_items_to_folder(mirror, [uuid.UUID(u) for u in uuids])
    dataset = encord_client.get_dataset(created.dataset_hash)
    dataset.delete_data(uuids[0])
    dataset.refetch_data()
    assert [r.uid for r in dataset.data_rows] == [uuids[1]], "the mirror does not bring the row back"
    assert [str(i.uuid) for i in mirror.list_items()] == [uuids[1]]


def test_add_private_data_to_dataset_registers_and_links(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    import boto3

    from tests.emulator.test_projects_helpers import png_bytes

    bucket = f"dsup-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    for name in ("a.png", "b.png"):
        s3.put_object(Bucket=bucket, Key=name, Body=png_bytes(20, 10, 9))
    title = f"s3-{bucket}"
    encord_emulator.admin_post(
        "/admin/seed", {"integrations": [{"title": title, "provider": "aws", "endpoint_url": moto_endpoint}]}
    )
    integration = next(i for i in encord_client.get_cloud_integrations() if i.title == title)
    files = {"images": [{"objectUrl": f"s3://{bucket}/{n}"} for n in ("a.png", "b.png", "missing.png")]}
    mirror = encord_client.create_dataset(f"up-{uuid.uuid4().hex[:6]}", StorageLocation.AWS)
    dataset = encord_client.get_dataset(mirror.dataset_hash)
    job = dataset.add_private_data_to_dataset_start(integration.id, files, ignore_errors=True)
    result = dataset.add_private_data_to_dataset_get_result(job, timeout_seconds=60)
    assert result.status.value == "DONE" and (result.units_done_count, result.units_error_count) == (2, 1)
    assert sorted(info.title for info in result.data_hashes_with_titles) == ["a.png", "b.png"]
    assert "missing.png" in result.data_unit_errors[0].object_urls[0]
    dataset.refetch_data()
    assert sorted(r.title for r in dataset.data_rows) == ["a.png", "b.png"]

    plain = encord_client.create_dataset(f"plain-{uuid.uuid4().hex[:6]}", StorageLocation.AWS,
                                         create_backing_folder=False)  # fmt: skip
    plain_dataset = encord_client.get_dataset(plain.dataset_hash)
    with pytest.raises(InvalidArgumentsError, match="no backing folder"):
        plain_dataset.add_private_data_to_dataset_start(integration.id, files)
    folder = encord_client.create_storage_folder(f"target-{uuid.uuid4().hex[:6]}")
    job = plain_dataset.add_private_data_to_dataset_start(
        integration.id, {"images": files["images"][:1]}, folder=folder
    )
    (info,) = plain_dataset.add_private_data_to_dataset_get_result(
        job, timeout_seconds=60
    ).data_hashes_with_titles
    assert info.backing_item_uuid == next(iter(folder.list_items())).uuid
