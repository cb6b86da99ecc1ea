"""Upload jobs from registration JSON against moto S3, through the real SDK."""

from __future__ import annotations

import io
import json
import struct
import uuid
from pathlib import Path
from typing import Any

import pytest
from encord.exceptions import InvalidArgumentsError
from encord.orm.dataset import LongPollingStatus
from encord.orm.storage import DataUploadImage, DataUploadItems, StorageItemType
from encord.storage import StorageFolder
from encord.user_client import EncordUserClient
from PIL import Image

BUCKET = "raw"


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(buffer, "JPEG")
    return buffer.getvalue()


def wav() -> bytes:
    data = b"\x00\x00" * 800
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 2, 16000, 64000, 4, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVE"
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def dicom(series_uid: str, instance: int) -> bytes:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.StudyInstanceUID = "1.2.3.4"
    ds.SeriesInstanceUID = series_uid
    ds.InstanceNumber = instance
    ds.Rows, ds.Columns = 32, 16
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


OBJECTS: dict[str, bytes] = {
    "img/a.jpg": jpeg(64, 48),
    "img/b.png": b"",  # filled below
    "img/fake.jpg": b"this is not an image",
    "seq/0.jpg": jpeg(20, 10),
    "seq/1.jpg": jpeg(20, 10),
    "vid/v.mp4": b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200,
    "aud/a.wav": wav(),
    "doc/d.pdf": b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n2 0 obj << /Type /Page >> endobj\n%%EOF",
    "txt/t.txt": "hello, wörld\n".encode(),
    "nii/n.nii.gz": b"\x1f\x8b\x08\x00" + b"\x00" * 100,
    "dcm/1.dcm": dicom("9.9.9", 1),
    "dcm/2.dcm": dicom("9.9.9", 2),
}


@pytest.fixture
def bucket(s3_client: Any) -> Any:
    png = io.BytesIO()
    Image.new("L", (7, 5)).save(png, "PNG")
    s3_client.create_bucket(Bucket=BUCKET)
    for key, body in {**OBJECTS, "img/b.png": png.getvalue()}.items():
        s3_client.put_object(Bucket=BUCKET, Key=key, Body=body)
    return s3_client


@pytest.fixture
def folder(encord_client: EncordUserClient) -> StorageFolder:
    return encord_client.create_storage_folder(f"reg-{uuid.uuid4().hex[:8]}")


def register(folder: StorageFolder, integration: str, manifest: Any, ignore_errors: bool = True) -> Any:
    job = folder.add_private_data_to_folder_start(integration, manifest, ignore_errors=ignore_errors)
    return folder.add_private_data_to_folder_get_result(job, timeout_seconds=60)


def items_by_name(folder: StorageFolder) -> dict[str, Any]:
    return {item.name: item for item in folder.list_items()}


def test_every_data_type_registers_with_probed_metadata(folder: StorageFolder, encord_s3_integration: str,
                                                        bucket: Any, tmp_path: Path) -> None:  # fmt: skip
    manifest = {
        "images": [{"objectUrl": f"s3://{BUCKET}/img/a.jpg", "clientMetadata": {"split": "train"}},
                   {"objectUrl": f"https://{BUCKET}.s3.us-east-1.amazonaws.com/img/b.png", "title": "bee"}],
        "videos": [{"objectUrl": f"s3://{BUCKET}/vid/v.mp4", "videoMetadata": {
            "fps": 25.0, "duration": 2.0, "width": 320, "height": 240, "file_size": 224, "mime_type": "video/mp4"}}],
        "audio": [{"objectUrl": f"s3://{BUCKET}/aud/a.wav"}],
        "pdfs": [{"objectUrl": f"s3://{BUCKET}/doc/d.pdf"}],
        "text": [{"objectUrl": f"s3://{BUCKET}/txt/t.txt"}],
        "nifti": [{"objectUrl": f"s3://{BUCKET}/nii/n.nii.gz"}],
        "image_groups": [
            {"title": "group", "createVideo": False, "objectUrl_0": f"s3://{BUCKET}/seq/0.jpg",
             "objectUrl_1": f"s3://{BUCKET}/seq/1.jpg"},
            {"title": "sequence", "createVideo": True, "objectUrl_0": f"s3://{BUCKET}/seq/0.jpg",
             "objectUrl_1": f"s3://{BUCKET}/seq/1.jpg"},
        ],
        "dicom_series": [{"title": "series", "objectUrl_0": f"s3://{BUCKET}/dcm/1.dcm",
                          "objectUrl_1": f"s3://{BUCKET}/dcm/2.dcm"}],
    }  # fmt: skip
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    result = register(folder, encord_s3_integration, path)
    assert result.status == LongPollingStatus.DONE
    assert (result.units_done_count, result.units_error_count, result.unit_errors) == (10, 0, [])
    assert result.file_name == "manifest.json"
    items = items_by_name(folder)
    assert {name: item.item_type for name, item in items.items()} == {
        "a.jpg": StorageItemType.IMAGE, "bee": StorageItemType.IMAGE, "v.mp4": StorageItemType.VIDEO,
        "a.wav": StorageItemType.AUDIO, "d.pdf": StorageItemType.PDF, "t.txt": StorageItemType.PLAIN_TEXT,
        "n.nii.gz": StorageItemType.NIFTI, "group": StorageItemType.IMAGE_GROUP,
        "sequence": StorageItemType.IMAGE_SEQUENCE, "series": StorageItemType.DICOM_SERIES,
    }  # fmt: skip
    assert (items["a.jpg"].width, items["a.jpg"].height, items["a.jpg"].mime_type) == (64, 48, "image/jpeg")
    assert items["a.jpg"].client_metadata == {"split": "train"}
    assert (items["bee"].width, items["bee"].height) == (7, 5)
    assert (items["v.mp4"].fps, items["v.mp4"].duration, items["v.mp4"].frame_count) == (25.0, 2.0, 50)
    assert (items["a.wav"].audio_sample_rate, items["a.wav"].audio_num_channels) == (16000, 2)
    assert items["group"].frame_count == 2 and items["group"].width == 20
    assert items["series"].dicom_series_uid == "9.9.9"
    assert items["a.jpg"].url == f"s3://{BUCKET}/img/a.jpg"
    assert {i.uuid for i in items.values()} >= {entry.item_uuid for entry in result.items_with_names}


def test_signed_urls_download_the_object(encord_client: EncordUserClient, folder: StorageFolder,
                                         encord_s3_integration: str, bucket: Any) -> None:  # fmt: skip
    import requests

    register(folder, encord_s3_integration, {"images": [{"objectUrl": f"s3://{BUCKET}/img/a.jpg"}]})
    (item,) = folder.list_items(get_signed_urls=True)
    assert requests.get(item.get_signed_url(), timeout=10).content == OBJECTS["img/a.jpg"]
    (bulk,) = encord_client.get_storage_items([item.uuid], sign_url=True)
    assert requests.get(bulk.get_signed_url(), timeout=10).content == OBJECTS["img/a.jpg"]


def test_unit_errors_name_each_bad_file(
    folder: StorageFolder, encord_s3_integration: str, bucket: Any
) -> None:
    long_url = f"s3://{BUCKET}/" + "k" * 17_000
    manifest = {"images": [
        {"objectUrl": f"s3://{BUCKET}/img/a.jpg"},
        {"objectUrl": f"s3://{BUCKET}/img/missing.jpg"},
        {"objectUrl": f"s3://{BUCKET}/img/fake.jpg"},
        {"objectUrl": f"s3://{BUCKET}/img/a.jpg", "title": "x" * 301},
        {"objectUrl": long_url, "title": "long"},
        {"objectUrl": f"gs://{BUCKET}/img/a.jpg"},
    ], "videos": [{"objectUrl": f"s3://{BUCKET}/txt/t.txt"}]}  # fmt: skip
    result = register(folder, encord_s3_integration, manifest)
    assert result.status == LongPollingStatus.DONE
    assert (result.units_done_count, result.units_error_count) == (1, 6)
    errors = {tuple(error.object_urls): error.error for error in result.unit_errors}
    assert "object not found" in errors[(f"s3://{BUCKET}/img/missing.jpg",)]
    assert "not a readable image" in errors[(f"s3://{BUCKET}/img/fake.jpg",)]
    assert "title is 301 characters" in errors[(f"s3://{BUCKET}/img/a.jpg",)]
    assert "longer than 16384 bytes" in errors[(long_url,)]
    assert "cannot be read through a aws" in errors[(f"gs://{BUCKET}/img/a.jpg",)]
    assert "not a video container" in errors[(f"s3://{BUCKET}/txt/t.txt",)]
    assert list(items_by_name(folder)) == ["a.jpg"]


def test_without_ignore_errors_the_job_ends_in_error(folder: StorageFolder, encord_s3_integration: str,
                                                     bucket: Any) -> None:  # fmt: skip
    manifest = {
        "images": [{"objectUrl": f"s3://{BUCKET}/img/a.jpg"}, {"objectUrl": f"s3://{BUCKET}/nope.jpg"}]
    }
    result = register(folder, encord_s3_integration, manifest, ignore_errors=False)
    assert result.status == LongPollingStatus.ERROR
    assert result.units_error_count == 1


def test_skip_duplicate_urls_makes_retries_idempotent(folder: StorageFolder, encord_s3_integration: str,
                                                      bucket: Any) -> None:  # fmt: skip
    def manifest(split: str, upsert: bool) -> dict[str, Any]:
        return {"images": [{"objectUrl": f"s3://{BUCKET}/img/a.jpg", "clientMetadata": {"split": split}},
                           {"objectUrl": f"s3://{BUCKET}/img/b.png"}],
                "skip_duplicate_urls": True, "upsert_metadata": upsert}  # fmt: skip

    first = register(folder, encord_s3_integration, manifest("train", False))
    again = register(folder, encord_s3_integration, manifest("val", False))
    assert (first.units_done_count, len(first.items_with_names)) == (2, 2)
    assert (again.units_done_count, again.items_with_names) == (2, [])
    assert items_by_name(folder)["a.jpg"].client_metadata == {"split": "train"}
    register(folder, encord_s3_integration, manifest("test", True))
    items = items_by_name(folder)
    assert len(items) == 2 and items["a.jpg"].client_metadata == {"split": "test"}
    register(folder, encord_s3_integration, {"images": [{"objectUrl": f"s3://{BUCKET}/img/a.jpg"}]})
    assert len(list(folder.list_items())) == 3  # without the flag a URL registers again


def test_structured_items_and_listing_filters(
    folder: StorageFolder, encord_s3_integration: str, bucket: Any
) -> None:
    items = DataUploadItems(images=[DataUploadImage(object_url=f"s3://{BUCKET}/img/a.jpg", title=f"n{i}.jpg")
                                    for i in range(5)])  # fmt: skip
    result = register(folder, encord_s3_integration, items)
    assert result.units_done_count == 5
    names = [item.name for item in folder.list_items(page_size=2)]
    assert names == [f"n{i}.jpg" for i in range(5)]
    assert [item.name for item in folder.list_items(search="n3")] == ["n3.jpg"]
    assert list(folder.list_items(item_types=[StorageItemType.VIDEO])) == []
    assert len(list(folder.list_items(is_in_dataset=False))) == 5


def test_malformed_manifest_is_rejected_at_start(folder: StorageFolder, encord_s3_integration: str) -> None:
    with pytest.raises(InvalidArgumentsError, match="unknown top-level keys"):
        folder.add_private_data_to_folder_start(encord_s3_integration, {"imagez": []})
    with pytest.raises(InvalidArgumentsError, match="unknown cloud integration"):
        folder.add_private_data_to_folder_start(str(uuid.uuid4()), {"images": [{"objectUrl": "s3://b/k"}]})


def test_long_poll_returns_pending_then_done(folder: StorageFolder, encord_emulator: Any,
                                            encord_s3_integration: str, bucket: Any) -> None:  # fmt: skip
    # A zero-timeout poll answers at once (PENDING or DONE) with counters that add up.
    manifest = {"images": [{"objectUrl": f"s3://{BUCKET}/img/a.jpg", "title": f"p{i}"} for i in range(40)]}
    job = folder.add_private_data_to_folder_start(encord_s3_integration, manifest, ignore_errors=True)
    first = folder.add_private_data_to_folder_get_result(job, timeout_seconds=0)
    assert first.status in (LongPollingStatus.PENDING, LongPollingStatus.DONE)
    assert first.units_pending_count + first.units_done_count + first.units_error_count == 40
    final = folder.add_private_data_to_folder_get_result(job, timeout_seconds=60)
    assert (final.status, final.units_done_count, final.units_pending_count) == (
        LongPollingStatus.DONE,
        40,
        0,
    )


def test_cancel_a_finished_job_reports_zero(
    folder: StorageFolder, encord_s3_integration: str, bucket: Any
) -> None:
    job = folder.add_private_data_to_folder_start(
        encord_s3_integration, {"images": [{"objectUrl": f"s3://{BUCKET}/img/a.jpg"}]}
    )
    assert (
        folder.add_private_data_to_folder_get_result(job, timeout_seconds=60).status == LongPollingStatus.DONE
    )
    assert folder.add_data_to_folder_job_cancel(job).units_cancelled_count == 0


def test_item_update_and_child_items(folder: StorageFolder, encord_s3_integration: str, bucket: Any) -> None:
    manifest = {
        "image_groups": [
            {
                "title": "g",
                "objectUrl_0": f"s3://{BUCKET}/seq/0.jpg",
                "objectUrl_1": f"s3://{BUCKET}/seq/1.jpg",
            }
        ]
    }
    register(folder, encord_s3_integration, manifest)
    (group,) = folder.list_items()
    children = list(group.get_child_items(get_signed_urls=True))
    assert [child.url for child in children] == [f"s3://{BUCKET}/seq/0.jpg", f"s3://{BUCKET}/seq/1.jpg"]
    group.update(name="renamed", client_metadata={"v": 2})
    (again,) = folder.list_items()
    assert (again.name, again.client_metadata) == ("renamed", {"v": 2})
