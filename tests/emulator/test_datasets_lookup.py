"""Dataset lookup: `user_client.get_datasets(...)` filters and response shape (real SDK)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from uuid import UUID

import pytest
from encord.exceptions import InvalidArgumentsError
from encord.orm.base_dto import BaseDTO
from encord.orm.dataset import (
    DatasetInfo,
    DatasetsWithUserRolesListResponse,
    DatasetUserRole,
    StorageLocation,
)
from encord.user_client import EncordUserClient


def _create(client: EncordUserClient, title: str, description: str = "", backing: bool = False) -> str:
    created = client.create_dataset(
        title, StorageLocation.CORD_STORAGE, dataset_description=description or None,
        create_backing_folder=backing,
    )  # fmt: skip
    return str(created.dataset_hash)


def _hashes(found: list[dict[str, object]]) -> set[str]:
    return {entry["dataset"].dataset_hash for entry in found}  # type: ignore[attr-defined]


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:10]


def test_title_eq_is_exact_and_has_the_sdk_shape(encord_client: EncordUserClient, tag: str) -> None:
    wanted = _create(encord_client, f"lk-{tag}-a", description="first")
    _create(encord_client, f"lk-{tag}-ab")
    (entry,) = encord_client.get_datasets(title_eq=f"lk-{tag}-a")
    dataset = entry["dataset"]
    assert isinstance(dataset, DatasetInfo)
    assert (dataset.dataset_hash, dataset.title, dataset.description) == (wanted, f"lk-{tag}-a", "first")
    assert dataset.backing_folder_uuid is None and dataset.type == StorageLocation.CORD_STORAGE
    assert isinstance(dataset.created_at, datetime) and isinstance(dataset.last_edited_at, datetime)
    assert entry["user_role"] == DatasetUserRole.ADMIN
    assert encord_client.get_datasets(title_eq=f"lk-{tag}-A") == []
    assert encord_client.get_datasets(title_eq=f"lk-{tag}") == []


def test_same_title_twice_lists_both(encord_client: EncordUserClient, tag: str) -> None:
    first, second = _create(encord_client, f"twin-{tag}"), _create(encord_client, f"twin-{tag}")
    assert _hashes(encord_client.get_datasets(title_eq=f"twin-{tag}")) == {first, second}


def test_title_like_uses_sql_wildcards(encord_client: EncordUserClient, tag: str) -> None:
    a = _create(encord_client, f"like-{tag}-a")
    ab = _create(encord_client, f"like-{tag}-ab")
    assert _hashes(encord_client.get_datasets(title_like=f"like-{tag}-%")) == {a, ab}
    assert _hashes(encord_client.get_datasets(title_like=f"like-{tag}-_")) == {a}
    assert _hashes(encord_client.get_datasets(title_like=f"%{tag}-ab")) == {ab}
    assert _hashes(encord_client.get_datasets(title_like=f"like-{tag}-a", title_eq=f"like-{tag}-ab")) == set()


def test_description_filters(encord_client: EncordUserClient, tag: str) -> None:
    red = _create(encord_client, f"desc-{tag}-1", description=f"red {tag}")
    blue = _create(encord_client, f"desc-{tag}-2", description=f"blue {tag}")
    assert _hashes(encord_client.get_datasets(desc_eq=f"red {tag}")) == {red}
    assert _hashes(encord_client.get_datasets(desc_like=f"% {tag}")) == {red, blue}


def test_created_and_edited_bounds(encord_client: EncordUserClient, tag: str) -> None:
    early = _create(encord_client, f"time-{tag}-early")
    time.sleep(0.05)
    middle = datetime.now(UTC)
    time.sleep(0.05)
    late = _create(encord_client, f"time-{tag}-late")
    like = f"time-{tag}-%"
    assert _hashes(encord_client.get_datasets(title_like=like, created_after=middle)) == {late}
    assert _hashes(encord_client.get_datasets(title_like=like, created_before=middle)) == {early}
    assert _hashes(encord_client.get_datasets(title_like=like, edited_after=middle.isoformat())) == {late}
    assert _hashes(encord_client.get_datasets(title_like=like, edited_before=middle)) == {early}


def test_no_filter_lists_everything_including_mirrors(encord_client: EncordUserClient, tag: str) -> None:
    plain = _create(encord_client, f"all-{tag}-plain")
    mirror = _create(encord_client, f"all-{tag}-mirror", backing=True)
    listed = {entry["dataset"].dataset_hash: entry["dataset"] for entry in encord_client.get_datasets()}
    assert {plain, mirror} <= set(listed)
    assert listed[plain].backing_folder_uuid is None
    backing = listed[mirror].backing_folder_uuid
    assert isinstance(backing, UUID)
    assert encord_client.get_storage_folder(backing).name == f"all-{tag}-mirror"


class _RawListParams(BaseDTO):
    created_after: str  # the SDK's own params type only takes datetimes


def test_bad_time_bound_is_rejected(encord_client: EncordUserClient) -> None:
    # The SDK always sends valid ISO times; a raw call shows the emulator names the bad parameter.
    with pytest.raises(InvalidArgumentsError, match="createdAfter"):
        encord_client._api_client.get(  # noqa: SLF001 - a value the SDK's params type cannot carry
            "/datasets/list", _RawListParams(created_after="yesterday"), DatasetsWithUserRolesListResponse
        )
