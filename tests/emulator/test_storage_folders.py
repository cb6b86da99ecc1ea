"""Folders and integrations through the real SDK."""

from __future__ import annotations

import uuid

import pytest
from encord.exceptions import ResourceNotFoundError
from encord.orm.storage import FoldersSortBy
from encord.user_client import EncordUserClient


def test_integrations_filter_by_title_and_uuid(
    encord_client: EncordUserClient, encord_s3_integration: str
) -> None:
    everything = encord_client.get_cloud_integrations()
    assert encord_s3_integration in {integration.id for integration in everything}
    (by_uuid,) = encord_client.get_cloud_integrations(filter_integration_uuids=[encord_s3_integration])
    assert by_uuid.title == "moto-s3"
    assert encord_client.get_cloud_integrations(filter_integration_titles=["no-such-title"]) == []


def test_create_get_and_find_folders(encord_client: EncordUserClient) -> None:
    tag = uuid.uuid4().hex[:8]
    parent = encord_client.create_storage_folder(f"parent-{tag}", "top", client_metadata={"team": "a"})
    child = encord_client.create_storage_folder(f"child-{tag}", parent_folder=parent.uuid)
    fetched = encord_client.get_storage_folder(child.uuid)
    assert (fetched.name, fetched.parent_uuid) == (f"child-{tag}", parent.uuid)
    assert encord_client.get_storage_folder(parent.uuid).client_metadata == {"team": "a"}
    top_level = {folder.uuid for folder in encord_client.list_storage_folders(search=tag)}
    assert top_level == {parent.uuid}
    found = {folder.uuid for folder in encord_client.find_storage_folders(search=tag)}
    assert found == {parent.uuid, child.uuid}
    assert [f.uuid for f in parent.list_subfolders()] == [child.uuid]


def test_folder_listing_pages_in_order(encord_client: EncordUserClient) -> None:
    tag = uuid.uuid4().hex[:8]
    names = [f"page-{tag}-{index:02d}" for index in range(7)]
    for name in reversed(names):
        encord_client.create_storage_folder(name)
    listed = [f.name for f in encord_client.find_storage_folders(search=f"page-{tag}", page_size=3)]
    assert listed == names
    newest_first = encord_client.find_storage_folders(search=f"page-{tag}", order=FoldersSortBy.CREATED_AT, desc=True,
                                                      page_size=2)  # fmt: skip
    assert [f.name for f in newest_first] == names


def test_unknown_folder_is_not_found(encord_client: EncordUserClient) -> None:
    with pytest.raises(ResourceNotFoundError):
        encord_client.get_storage_folder(uuid.uuid4())
    with pytest.raises(ResourceNotFoundError):
        encord_client.create_storage_folder("orphan", parent_folder=uuid.uuid4())
