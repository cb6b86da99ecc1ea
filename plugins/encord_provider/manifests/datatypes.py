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


@dataclass(frozen=True)
class TypeSpec:
    """One data type, as config, manifests and reports spell and recognise it.

    `config_name` is what a pipelines file, the run's `data_types` Param and the run report say ("dicom");
    `manifest_key` the JSON section of a registration manifest ("dicom_series"); `extensions` classify
    listed objects (with `mime_types` where Python's `mimetypes` lacks them); `probe` is the
    `module:function` that reads its media metadata into the entry's `metadata_key` block.
    """

    data_type: DataType
    config_name: str
    manifest_key: str
    extensions: tuple[str, ...] = ()
    mime_types: Mapping[str, str] = field(default_factory=dict)
    per_file: bool = True  # a listed object can be of this type (groups and sequences are built from images)
    multi_object: bool = False  # one entry holds several objects
    probe: str | None = None
    metadata_key: str | None = None
    aliases: tuple[str, ...] = ()  # more names accepted in config and on the command line


_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".avif", ".heic")
_VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".mpeg", ".mpg", ".ts")
_AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".opus", ".aiff")
_TEXT_EXTENSIONS = (".txt", ".md", ".json", ".html", ".htm", ".csv", ".xml", ".tsv", ".jsonl")
_PROBES = "encord_provider.manifests.metadata"

# The registry, in manifest order (the order of the JSON sections).
TYPES: dict[DataType, TypeSpec] = {
    spec.data_type: spec
    for spec in (
        TypeSpec(
            DataType.VIDEO, "video", "videos", _VIDEO_EXTENSIONS,
            {".mkv": "video/x-matroska", ".webm": "video/webm"},
            probe=f"{_PROBES}:probe_video", metadata_key="videoMetadata", aliases=("videos",),
        ),
        TypeSpec(DataType.AUDIO, "audio", "audio", _AUDIO_EXTENSIONS, {".flac": "audio/flac", ".opus": "audio/opus"}),
        TypeSpec(DataType.PDF, "pdf", "pdfs", (".pdf",), probe=f"{_PROBES}:probe_pdf", metadata_key="pdfMetadata"),
        TypeSpec(DataType.TEXT, "text", "text", _TEXT_EXTENSIONS, {".md": "text/markdown", ".jsonl": "application/jsonl"}),
        TypeSpec(
            DataType.IMAGE, "image", "images", _IMAGE_EXTENSIONS, {".webp": "image/webp"},
            probe=f"{_PROBES}:probe_image", metadata_key="imageMetadata",
        ),
        TypeSpec(DataType.IMAGE_GROUP, "image_group", "image_groups", per_file=False, multi_object=True),
        TypeSpec(DataType.IMAGE_SEQUENCE, "image_sequence", "image_groups", per_file=False, multi_object=True),
        TypeSpec(
            DataType.DICOM_SERIES, "dicom", "dicom_series", (".dcm", ".dicom"), {".dcm": "application/dicom"},
            multi_object=True,
        ),
        TypeSpec(
            DataType.NIFTI, "nifti", "nifti", (".nii", ".nii.gz"),
            {".nii": "application/x-nifti", ".nii.gz": "application/x-nifti"},
        ),
    )
}  # fmt: skip

# Derived views (kept as names the manifest modules already use).
JSON_KEYS: dict[DataType, str] = {t: spec.manifest_key for t, spec in TYPES.items()}
MULTI_OBJECT_TYPES = frozenset(t for t, spec in TYPES.items() if spec.multi_object)
FILE_KINDS = frozenset(t for t, spec in TYPES.items() if spec.per_file)  # images become groups at grouping
DEFAULT_EXTENSIONS: dict[str, DataType] = {ext: t for t, spec in TYPES.items() for ext in spec.extensions}
MIME_TYPES: dict[str, str] = {ext: mime for spec in TYPES.values() for ext, mime in spec.mime_types.items()}
CONFIG_NAMES: tuple[str, ...] = tuple(spec.config_name for spec in TYPES.values())
_NAMES: dict[str, DataType] = {
    name: t for t, spec in TYPES.items() for name in (t.value, spec.config_name, *spec.aliases)
}


def config_name(data_type: DataType) -> str:
    """The name config, run Params and run reports use: `DataType.DICOM_SERIES` -> "dicom"."""
    return TYPES[data_type].config_name


def parse_data_type(name: str) -> DataType:
    """`"image"`, `"dicom"`, `"dicom_series"`... -> DataType; a clear ValueError otherwise."""
    lowered = name.strip().lower()
    if lowered in _NAMES:
        return _NAMES[lowered]
    raise ValueError(f"unknown Encord data type {name!r}; expected one of {sorted(_NAMES)}")


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
