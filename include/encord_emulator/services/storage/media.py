"""Media checks the emulator performs on registered objects (what Encord's ingestion would detect).

Each ``probe_*`` gets the first bytes of an object (and a callable for the whole object when a
header is not enough) and returns metadata fields, or raises ``MediaError`` naming what is wrong.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

HEAD_BYTES = 64 * 1024
MAX_FULL_READ = 64 * 1024 * 1024

ReadAll = Callable[[], bytes]


class MediaError(ValueError):
    """The object is not of the declared type or cannot be parsed."""


def probe_image(head: bytes, read_all: ReadAll) -> dict[str, Any]:
    from PIL import Image, UnidentifiedImageError

    for data in (head, None):
        try:
            with Image.open(io.BytesIO(data if data is not None else read_all())) as image:
                return {
                    "width": int(image.width),
                    "height": int(image.height),
                    "mime_type": Image.MIME.get(image.format or "", None),
                }
        except (UnidentifiedImageError, OSError, SyntaxError):
            continue
    raise MediaError("object is not a readable image (Pillow cannot identify it)")


def probe_video(head: bytes) -> dict[str, Any]:
    if head[4:8] == b"ftyp":
        return {"mime_type": "video/quicktime" if head[8:10] == b"qt" else "video/mp4"}
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return {"mime_type": "video/webm"}
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return {"mime_type": "video/x-msvideo"}
    raise MediaError("object is not a video container Encord accepts (mp4/mov/webm/avi)")


def probe_audio(head: bytes) -> dict[str, Any]:
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return {"mime_type": "audio/mpeg"}
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return {"mime_type": "audio/wav", **_wav_fields(head)}
    if head[:4] == b"fLaC":
        return {"mime_type": "audio/flac"}
    if head[:4] == b"OggS":
        return {"mime_type": "audio/ogg"}
    if head[4:8] == b"ftyp":
        return {"mime_type": "audio/mp4"}
    raise MediaError("object is not an audio file (mp3/wav/flac/ogg/m4a)")


def _wav_fields(head: bytes) -> dict[str, Any]:
    if len(head) < 36 or head[12:16] != b"fmt ":
        return {}
    channels = int.from_bytes(head[22:24], "little")
    rate = int.from_bytes(head[24:28], "little")
    bits = int.from_bytes(head[34:36], "little")
    return {
        "audio_num_channels": channels,
        "audio_sample_rate": rate,
        "audio_bit_depth": bits,
        "audio_codec": "pcm",
    }


def probe_pdf(head: bytes, size: int, read_all: ReadAll) -> dict[str, Any]:
    if not head.startswith(b"%PDF-"):
        raise MediaError("object is not a PDF (no %PDF- header)")
    pages = None
    if size <= MAX_FULL_READ:
        pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", read_all())) or None
    return {"mime_type": "application/pdf", "num_pages": pages}


def probe_text(head: bytes) -> dict[str, Any]:
    if b"\x00" in head:
        raise MediaError("object is not text (contains NUL bytes)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte char cut at the range end is fine
            raise MediaError("object is not UTF-8 text") from None
    lowered = head[:512].lstrip().lower()
    return {"mime_type": "text/html" if lowered.startswith((b"<!doctype html", b"<html")) else "text/plain"}


def probe_nifti(head: bytes) -> dict[str, Any]:
    if head[:2] == b"\x1f\x8b":
        return {"mime_type": "application/gzip"}
    if (
        len(head) >= 4
        and int.from_bytes(head[:4], "little") in (348, 540)
        or int.from_bytes(head[:4], "big") in (348, 540)
    ):
        return {"mime_type": "application/octet-stream"}
    raise MediaError("object is not a NIfTI file (.nii or .nii.gz)")


def probe_dicom(read_all: ReadAll) -> dict[str, Any]:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(io.BytesIO(read_all()), stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise MediaError(f"object is not a DICOM file: {exc}") from None
    return {
        "mime_type": "application/dicom",
        "dicom_instance_uid": _tag(dataset, "SOPInstanceUID"),
        "dicom_study_uid": _tag(dataset, "StudyInstanceUID"),
        "dicom_series_uid": _tag(dataset, "SeriesInstanceUID"),
        "width": _int_tag(dataset, "Columns"),
        "height": _int_tag(dataset, "Rows"),
    }


def _tag(dataset: Any, name: str) -> str | None:
    value = getattr(dataset, name, None)
    return None if value is None else str(value)


def _int_tag(dataset: Any, name: str) -> int | None:
    value = getattr(dataset, name, None)
    return None if value is None else int(value)
