"""Uploads of local files into Encord-hosted storage through the real SDK's `StorageFolder.upload_*` calls:
signed upload URLs, the PUT of the bytes, the registration job, and the bytes served back."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from encord.exceptions import EncordException
from encord.orm.storage import StorageItemType
from encord.storage import StorageFolder
from encord.user_client import EncordUserClient

from demo.media import dicom_series, image_bytes, mp4_bytes, pdf_bytes, wav_bytes

NIFTI = b"\x1f\x8b\x08\x00" + b"\x00" * 64


@pytest.fixture
def folder(encord_client: EncordUserClient) -> StorageFolder:
    return encord_client.create_storage_folder(f"hosted-{uuid.uuid4().hex[:8]}")


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _download(url: str | None) -> bytes:
    assert url, "no signed URL"
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return response.content


@pytest.mark.parametrize(
    ("call", "name", "data", "item_type"),
    [
        ("upload_image", "a.jpg", image_bytes(20, 10, (1, 2, 3)), StorageItemType.IMAGE),
        ("upload_video", "v.mp4", mp4_bytes(), StorageItemType.VIDEO),
        ("upload_audio", "t.wav", wav_bytes(), StorageItemType.AUDIO),
        ("upload_nifti", "n.nii.gz", NIFTI, StorageItemType.NIFTI),
        ("upload_pdf", "d.pdf", pdf_bytes(), StorageItemType.PDF),
        ("upload_text", "t.txt", b"hello\n", StorageItemType.PLAIN_TEXT),
    ],
)
def test_single_file_uploads_serve_their_bytes_back(
    encord_client: EncordUserClient, folder: StorageFolder, tmp_path: Path, call: str, name: str, data: bytes,
    item_type: StorageItemType,
) -> None:  # fmt: skip
    path = _write(tmp_path, name, data)
    item_uuid = getattr(folder, call)(path, client_metadata={"source": name})
    item = encord_client.get_storage_item(item_uuid, sign_url=True)
    assert (item.name, item.item_type, item.client_metadata) == (name, item_type, {"source": name})
    assert item.file_size == len(data)
    assert _download(item.get_signed_url()) == data
    assert [i.uuid for i in folder.list_items()] == [item_uuid]


def test_image_group_sequence_and_dicom_series_keep_every_frame(
    folder: StorageFolder, tmp_path: Path
) -> None:
    frames = [image_bytes(16, 8, (10 * i, 0, 0)) for i in range(3)]
    paths = [_write(tmp_path, f"f{i}.jpg", data) for i, data in enumerate(frames)]
    slices = dicom_series(slices=2)
    dicom_paths = [_write(tmp_path, f"s{i}.dcm", data) for i, data in enumerate(slices)]
    created = {
        "group": folder.create_image_group(paths, title="group"),
        "sequence": folder.create_image_sequence(paths, title="sequence"),
        "series": folder.create_dicom_series(dicom_paths, title="series"),
    }
    items = {item.name: item for item in folder.list_items()}
    assert {name: items[name].uuid for name in created} == created
    assert items["group"].item_type == StorageItemType.IMAGE_GROUP
    assert items["sequence"].item_type == StorageItemType.IMAGE_SEQUENCE
    assert items["series"].item_type == StorageItemType.DICOM_SERIES
    for name, expected in (("group", frames), ("sequence", frames), ("series", slices)):
        children = list(items[name].get_child_items(get_signed_urls=True))
        assert [_download(child.get_signed_url()) for child in children] == expected


def test_signed_urls_open_only_their_key_and_method(
    encord_client: EncordUserClient, folder: StorageFolder, tmp_path: Path
) -> None:
    item_uuid = folder.upload_image(_write(tmp_path, "a.png", image_bytes(8, 8, (0, 0, 0), "PNG")))
    url = encord_client.get_storage_item(item_uuid, sign_url=True).get_signed_url()
    assert url
    assert requests.put(url, data=b"overwrite", timeout=10).status_code == 403  # a GET URL is no PUT URL
    forged = url.replace("signature=", "signature=0")
    assert requests.get(forged, timeout=10).status_code == 403


def test_a_job_naming_a_placeholder_with_no_bytes_fails_that_file(
    encord_emulator: Any, folder: StorageFolder
) -> None:
    slots: Any = folder._get_upload_signed_urls(StorageItemType.IMAGE, count=1)  # no PUT follows
    from encord.orm.storage import DataUploadImage, DataUploadItems

    items = DataUploadItems(images=[DataUploadImage(object_url=slots[0].object_key, title="never-sent.jpg",
                                                    placeholder_item_uuid=slots[0].item_uuid)])  # fmt: skip
    with pytest.raises(EncordException, match="nothing was uploaded"):
        folder._add_data(integration_id=None, private_files=items)
    assert list(folder.list_items()) == []
