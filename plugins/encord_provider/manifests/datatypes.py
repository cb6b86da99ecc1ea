"""Encord data types and the configurable extension / MIME -> type classification of listed objects."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class DataType(StrEnum):
    """One kind of manifest entry. Groups and sequences share the JSON key `image_groups`."""

    VIDEO = "video"
    AUDIO = "audio"
    PDF = "pdf"
    TEXT = "text"
    IMAGE = "image"
    IMAGE_GROUP = "image_group"
    IMAGE_SEQUENCE = "image_sequence"
    DICOM_SERIES = "dicom_series"
    NIFTI = "nifti"


# Names accepted in configuration besides the enum values (config/ingest.py uses "dicom").
TYPE_ALIASES: dict[str, DataType] = {"dicom": DataType.DICOM_SERIES, "videos": DataType.VIDEO}

JSON_KEYS: dict[DataType, str] = {
    DataType.VIDEO: "videos",
    DataType.AUDIO: "audio",
    DataType.PDF: "pdfs",
    DataType.TEXT: "text",
    DataType.IMAGE: "images",
    DataType.IMAGE_GROUP: "image_groups",
    DataType.IMAGE_SEQUENCE: "image_groups",
    DataType.DICOM_SERIES: "dicom_series",
    DataType.NIFTI: "nifti",
}

MULTI_OBJECT_TYPES = frozenset({DataType.IMAGE_GROUP, DataType.IMAGE_SEQUENCE, DataType.DICOM_SERIES})

# Per-file kinds a listed object can be; images become image/group/sequence entries at grouping time.
FILE_KINDS = frozenset(
    {
        DataType.VIDEO,
        DataType.AUDIO,
        DataType.PDF,
        DataType.TEXT,
        DataType.IMAGE,
        DataType.DICOM_SERIES,
        DataType.NIFTI,
    }
)

DEFAULT_EXTENSIONS: dict[str, DataType] = {
    **dict.fromkeys(
        (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".avif", ".heic"), DataType.IMAGE
    ),
    **dict.fromkeys(
        (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".mpeg", ".mpg", ".ts"), DataType.VIDEO
    ),
    **dict.fromkeys((".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".opus", ".aiff"), DataType.AUDIO),
    ".pdf": DataType.PDF,
    **dict.fromkeys(
        (".txt", ".md", ".json", ".html", ".htm", ".csv", ".xml", ".tsv", ".jsonl"), DataType.TEXT
    ),
    ".dcm": DataType.DICOM_SERIES,
    ".dicom": DataType.DICOM_SERIES,
    ".nii": DataType.NIFTI,
    ".nii.gz": DataType.NIFTI,
}

MIME_TYPES: dict[str, str] = {
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".webp": "image/webp",
    ".flac": "audio/flac",
    ".opus": "audio/opus",
    ".md": "text/markdown",
    ".jsonl": "application/jsonl",
    ".nii": "application/x-nifti",
    ".nii.gz": "application/x-nifti",
    ".dcm": "application/dicom",
}


def parse_data_type(name: str) -> DataType:
    """`"image"`, `"dicom"`, `"dicom_series"`... -> DataType; a clear ValueError otherwise."""
    lowered = name.strip().lower()
    if lowered in TYPE_ALIASES:
        return TYPE_ALIASES[lowered]
    try:
        return DataType(lowered)
    except ValueError:
        valid = sorted([t.value for t in DataType] + list(TYPE_ALIASES))
        raise ValueError(f"unknown Encord data type {name!r}; expected one of {valid}") from None


def extension_of(key: str) -> str:
    """Lower-case extension including the dot; `.nii.gz` counts as one extension; "" when none
    (a leading dot, as in `.env`, is a hidden file name, not an extension)."""
    dot = key.rfind(".")
    if dot <= key.rfind("/") + 1:
        return ""
    ext = key[dot:].lower()
    if ext == ".gz" and key.lower().endswith(".nii.gz") and dot - 4 > key.rfind("/"):
        return ".nii.gz"
    return ext


def mime_type_of(key: str) -> str:
    ext = extension_of(key)
    if ext in MIME_TYPES:
        return MIME_TYPES[ext]
    guessed, _ = mimetypes.guess_type("x" + ext) if ext else (None, None)
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class TypeMap:
    """Extension -> kind, then MIME (exact `image/png` or major `image/*`) -> kind, then DICOM prefixes.

    `extensions` and `mime_types` given by the user are merged over the defaults; map an extension to
    None to stop registering it.
    """

    extensions: Mapping[str, DataType | None] = field(default_factory=dict)
    mime_types: Mapping[str, DataType | None] = field(default_factory=dict)
    extensionless_dicom_prefixes: tuple[str, ...] = ()
    by_extension: Mapping[str, DataType] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        merged: dict[str, DataType | None] = dict(DEFAULT_EXTENSIONS)
        for ext, kind in self.extensions.items():
            merged[ext.lower() if ext.startswith(".") else f".{ext.lower()}"] = kind
        object.__setattr__(self, "_by_ext", merged)
        # Exact extension -> kind for the fast path (`.nii.gz` and excluded ones go through classify).
        fast = {ext: kind for ext, kind in merged.items() if kind is not None and ext.count(".") == 1}
        object.__setattr__(self, "by_extension", fast)
        for kind in [*merged.values(), *self.mime_types.values()]:
            if kind is not None and kind not in FILE_KINDS:
                raise ValueError(f"{kind} is not a per-file kind; map files to one of {sorted(FILE_KINDS)}")

    def classify(self, key: str) -> DataType | str:
        """The kind of `key`, or a rejection reason (a plain str; note DataType is a StrEnum)."""
        if key.endswith("/"):  # zero-byte folder markers are skipped by the listing filter, not here
            return "key ends in '/': an object named like a folder has no file name or extension to type it"
        ext = extension_of(key)
        by_ext: dict[str, DataType | None] = self._by_ext  # type: ignore[attr-defined]
        if ext in by_ext:
            kind = by_ext[ext]
            return kind if kind is not None else f"extension {ext!r} is excluded from registration"
        if not ext:
            if any(key.startswith(prefix) for prefix in self.extensionless_dicom_prefixes):
                return DataType.DICOM_SERIES
            return "no file extension (extensionless files are only read as DICOM under a configured prefix)"
        if self.mime_types:
            mime = mime_type_of(key)
            kind = self.mime_types.get(mime, self.mime_types.get(mime.split("/")[0] + "/*"))
            if kind is not None:
                return kind
        return f"unsupported file type {ext!r} (no Encord data type is mapped to it)"
