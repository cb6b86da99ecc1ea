"""Which `StorageFolder` upload call of the SDK uploads one entry of a local source into Encord-hosted
storage, and where the provider's upload evidence sits in an item's client metadata.

The SDK calls (`upload_image`, `upload_video`, `upload_audio`, `upload_pdf`, `upload_text`, `upload_nifti`,
`create_image_group`, `create_image_sequence`, `create_dicom_series`) each request signed URLs, PUT the
files' bytes and register the item, then wait for that registration.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from encord_provider.manifests.datatypes import DataType

# Single-file types: the SDK call taking one path.
SINGLE_FILE_CALLS: dict[DataType, str] = {
    DataType.IMAGE: "upload_image",
    DataType.VIDEO: "upload_video",
    DataType.AUDIO: "upload_audio",
    DataType.PDF: "upload_pdf",
    DataType.TEXT: "upload_text",
    DataType.NIFTI: "upload_nifti",
}
# Multi-file types: the SDK call taking the list of paths (frames, slices) in order.
MULTI_FILE_CALLS: dict[DataType, str] = {
    DataType.IMAGE_GROUP: "create_image_group",
    DataType.IMAGE_SEQUENCE: "create_image_sequence",
    DataType.DICOM_SERIES: "create_dicom_series",
}
UPLOAD_KEY = "upload"  # client metadata `encord_ingest.upload`: {"id": ..., "token": ...}


def upload_call(
    folder: Any, data_type: DataType, paths: list[Path], title: str, client_metadata: dict[str, Any]
) -> Callable[[], Any]:
    """The SDK call that uploads `paths` as one item of `data_type` titled `title`."""
    if data_type in SINGLE_FILE_CALLS:
        if len(paths) != 1:
            raise ValueError(f"{data_type} {title!r} has {len(paths)} files; it takes one")
        method = getattr(folder, SINGLE_FILE_CALLS[data_type])
        return partial(method, paths[0], title=title, client_metadata=client_metadata)
    if data_type in MULTI_FILE_CALLS:
        method = getattr(folder, MULTI_FILE_CALLS[data_type])
        return partial(method, paths, title=title, client_metadata=client_metadata)
    raise ValueError(f"no SDK upload call for data type {data_type}")


def upload_evidence(item: Any) -> tuple[str, str] | None:
    """(upload id, token) the provider wrote into an item's client metadata, or None."""
    metadata = getattr(item, "client_metadata", None) or {}
    ingest = metadata.get("encord_ingest") if isinstance(metadata, dict) else None
    upload = ingest.get(UPLOAD_KEY) if isinstance(ingest, dict) else None
    if isinstance(upload, dict) and isinstance(upload.get("id"), str):
        return upload["id"], str(upload.get("token") or "")
    return None
