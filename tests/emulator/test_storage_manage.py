"""Folder and item management through the real SDK: summary, update (single and bundled), moves, deletes,
item summary, recursive search. Deletes and moves out of a mirror folder take the data out of datasets
and projects, as in Encord."""

from __future__ import annotations

import uuid

import pytest
from encord.exceptions import InvalidArgumentsError
from encord.http.bundle import Bundle
from encord.orm.dataset import StorageLocation
from encord.orm.storage import StorageItemType
from encord.storage import StorageFolder
from encord.user_client import EncordUserClient
from encord_emulator.testing import EmulatorProcess

from tests.emulator.test_projects_helpers import build_world, register_images


def _images(
    client: EncordUserClient, emulator: EmulatorProcess, moto: str, count: int
) -> tuple[StorageFolder, list[str]]:
    uuids, _, _ = register_images(client, emulator, moto, count)
    return client.get_storage_folder(client.get_storage_item(uuids[0]).parent_folder_uuid), uuids


def test_folder_summary_counts_items_subfolders_jobs_and_bytes(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    folder, uuids = _images(encord_client, encord_emulator, moto_endpoint, 3)
    folder.create_subfolder(f"sub-{uuid.uuid4().hex[:6]}")
    summary = folder.get_summary()
    assert (summary.files, summary.images, summary.videos, summary.folders) == (3, 3, 0, 1)
    assert summary.upload_jobs == 1 and summary.tombstones == 0
    sizes = [encord_client.get_storage_item(u).file_size for u in uuids]
    assert summary.total_size == sum(sizes) > 0


def test_folder_update_single_and_bundled(encord_client: EncordUserClient) -> None:
    tag = uuid.uuid4().hex[:8]
    first = encord_client.create_storage_folder(f"a-{tag}")
    second = encord_client.create_storage_folder(f"b-{tag}")
    first.update(name=f"renamed-{tag}", description="new", client_metadata={"team": "x"})
    assert first.name == f"renamed-{tag}"
    again = encord_client.get_storage_folder(first.uuid)
    assert (again.name, again.description, again.client_metadata) == (f"renamed-{tag}", "new", {"team": "x"})
    with Bundle() as bundle:
        first.update(description="bundled-1", bundle=bundle)
        second.update(client_metadata={"n": 2}, bundle=bundle)
    assert encord_client.get_storage_folder(first.uuid).description == "bundled-1"
    assert encord_client.get_storage_folder(second.uuid).client_metadata == {"n": 2}
    assert second.client_metadata == {"n": 2}, "the bundle result updates the local object"


def test_folder_moves_and_cannot_move_into_itself(encord_client: EncordUserClient) -> None:
    tag = uuid.uuid4().hex[:8]
    outer = encord_client.create_storage_folder(f"outer-{tag}")
    inner = encord_client.create_storage_folder(f"inner-{tag}")
    inner.move_to_folder(outer)
    assert inner.parent_uuid == outer.uuid
    assert [f.uuid for f in outer.list_subfolders()] == [inner.uuid]
    with pytest.raises(InvalidArgumentsError, match="itself or its own subfolder"):
        outer.move_to_folder(inner)
    inner.move_to_folder(None)
    assert inner.parent_uuid is None and list(outer.list_subfolders()) == []


def test_items_move_between_folders_and_find_items_is_recursive(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    folder, uuids = _images(encord_client, encord_emulator, moto_endpoint, 3)
    target = folder.create_subfolder(f"sorted-{uuid.uuid4().hex[:6]}")
    folder.move_items_to_folder(target, [uuid.UUID(u) for u in uuids[:2]])
    assert {str(i.uuid) for i in target.list_items()} == set(uuids[:2])
    assert {str(i.uuid) for i in folder.list_items()} == {uuids[2]}
    found = {str(i.uuid) for i in folder.find_items(item_types=[StorageItemType.IMAGE])}
    assert found == set(uuids), "find_items searches subfolders too"
    item = encord_client.get_storage_item(uuids[2])
    item.move_to_folder(target)
    assert item.parent_folder_uuid == target.uuid
    with pytest.raises(InvalidArgumentsError, match="not immediate children"):
        folder.move_items_to_folder(target, [uuid.UUID(uuids[0])])


def test_moving_out_of_a_mirror_folder_needs_consent_and_leaves_the_dataset(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    folder, uuids = _images(encord_client, encord_emulator, moto_endpoint, 2)
    created = encord_client.create_dataset(f"mirror-{uuid.uuid4().hex[:6]}", StorageLocation.AWS)
    mirror = encord_client.get_storage_folder(created.backing_folder_uuid)
    folder.move_items_to_folder(mirror, [uuid.UUID(u) for u in uuids])  # into a mirror: allowed
    dataset = encord_client.get_dataset(created.dataset_hash)
    assert {row.uid for row in dataset.data_rows} == set(uuids)
    with pytest.raises(InvalidArgumentsError, match="allow_mirror_dataset_changes"):
        mirror.move_items_to_folder(folder, [uuid.UUID(uuids[0])])
    mirror.move_items_to_folder(folder, [uuid.UUID(uuids[0])], allow_mirror_dataset_changes=True)
    dataset.refetch_data()
    assert [row.uid for row in dataset.data_rows] == [uuids[1]]


def test_deleting_items_takes_them_out_of_datasets_and_projects(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    world = build_world(encord_client, encord_emulator, moto_endpoint, images=3)
    project = world.project()
    rows = project.list_label_rows_v2()
    rows[0].initialise_labels()
    rows[0].save()
    doomed = rows[0].backing_item_uuid
    item = encord_client.get_storage_item(doomed)
    summary = item.get_summary()
    assert summary.used_in_datasets == 1 and summary.accessible_datasets[0].dataset_hash == world.dataset_hash
    encord_client.get_storage_folder(item.parent_folder_uuid).delete_storage_items([doomed])
    remaining = {str(row.data_hash) for row in project.list_label_rows_v2()}
    assert remaining == set(world.item_uuids) - {str(doomed)}
    dataset = encord_client.get_dataset(world.dataset_hash)
    assert {row.uid for row in dataset.data_rows} == remaining
    stage = project.workflow.get_stage(name="Annotate")
    assert {str(task.data_hash) for task in stage.get_tasks()} == remaining
    other = encord_client.get_storage_item(sorted(remaining)[0])
    other.delete()
    assert len(list(project.list_label_rows_v2())) == 1


def test_bundled_item_updates_and_deprecated_find_storage_items(
    encord_client: EncordUserClient, encord_emulator: EmulatorProcess, moto_endpoint: str
) -> None:
    _, uuids = _images(encord_client, encord_emulator, moto_endpoint, 2)
    items = encord_client.get_storage_items(uuids)
    tag = uuid.uuid4().hex[:8]
    with Bundle() as bundle:
        for index, item in enumerate(items):
            item.update(name=f"{tag}-{index}.png", client_metadata={"index": index}, bundle=bundle)
    fetched = encord_client.get_storage_items(uuids)
    assert [(i.name, i.client_metadata) for i in fetched] == [(f"{tag}-0.png", {"index": 0}),
                                                               (f"{tag}-1.png", {"index": 1})]  # fmt: skip
    with pytest.warns(DeprecationWarning):
        found = list(encord_client.find_storage_items(search=tag))
    assert sorted(str(i.uuid) for i in found) == sorted(uuids)
