"""`EncordApi.upload_files`: the SDK's upload call per data type, and what its failures mean."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from encord.exceptions import CloudUploadError, EncordException, GenericServerError
from encord_provider.encord_api import EncordApi
from encord_provider.encord_api.calls import RetryPolicy
from encord_provider.ingest.errors import AmbiguousWriteError, EncordUnavailableError, UploadRefusedError
from encord_provider.manifests.datatypes import DataType


class Folder:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(paths: Any, **kwargs: Any) -> uuid.UUID:
            self.calls.append((name, paths, kwargs))
            if self.error is not None:
                raise self.error
            return uuid.UUID(int=1)

        return call


def _api(folder: Folder) -> EncordApi:
    client = type("Client", (), {"get_storage_folder": lambda self, _: folder})()
    return EncordApi(client, retry=RetryPolicy(attempts=2, base_delay=0.0), sleep=lambda _: None)


@pytest.mark.parametrize(
    ("data_type", "method", "paths"),
    [
        (DataType.IMAGE, "upload_image", [Path("a.jpg")]),
        (DataType.NIFTI, "upload_nifti", [Path("n.nii.gz")]),
        (DataType.IMAGE_SEQUENCE, "create_image_sequence", [Path("0.jpg"), Path("1.jpg")]),
        (DataType.DICOM_SERIES, "create_dicom_series", [Path("1.dcm"), Path("2.dcm")]),
    ],
)
def test_each_type_goes_through_its_sdk_call(data_type: DataType, method: str, paths: list[Path]) -> None:
    folder = Folder()
    item = _api(folder).upload_files(str(uuid.uuid4()), data_type, paths, "t", {"k": 1})
    expected = paths[0] if len(paths) == 1 and data_type is not DataType.DICOM_SERIES else paths
    assert item == str(uuid.UUID(int=1))
    assert folder.calls == [(method, expected, {"title": "t", "client_metadata": {"k": 1}})]


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (
            EncordException("folder.add_data errors occurred ['a.jpg: not a readable image']"),
            UploadRefusedError,
        ),
        (ValueError("Type of x.jsonl is detected to be 'None'"), UploadRefusedError),
        (GenericServerError("502"), AmbiguousWriteError),
        (CloudUploadError("Error uploading file 'a.jpg' to signed url"), EncordUnavailableError),
    ],
)
def test_failures_say_whether_the_item_may_exist(error: BaseException, raised: type[Exception]) -> None:
    with pytest.raises(raised):
        _api(Folder(error)).upload_files(str(uuid.uuid4()), DataType.IMAGE, [Path("a.jpg")], "a.jpg", {})
