"""Everything that steers a manifest build, with the Encord limits as defaults (see encord-registration.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from encord_provider.manifests.datatypes import DataType, TypeMap, parse_data_type
from encord_provider.manifests.image_modes import ImageMode as ImageMode  # re-exported
from encord_provider.manifests.image_modes import ImageModeRule as ImageModeRule

# Encord's limits; we always apply the stricter of the guide and the best-practice page.
MAX_URL_BYTES = 16 * 1024
MAX_ENTRIES_PER_FILE = 10_000  # best practice (guide: 500,000 items); CSV: 10,000 entries
MAX_URLS_PER_FILE = 1_000_000
MAX_JSON_BYTES = 100_000_000  # 100 MB
MAX_MEDIA_BYTES_PER_BATCH = 2_000_000_000  # 2 GB per upload batch
MAX_SEQUENCE_FRAMES = 32_767
DEFAULT_PER_TYPE = {DataType.VIDEO: 100, DataType.IMAGE: 1000}


class ManifestFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class InputOrder(StrEnum):
    """`sorted`: records arrive in key order (every S3/GCS/Azure listing does) -> streaming, memory bounded
    by the largest group; an out-of-order key raises. `any`: records are first sorted on disk (SQLite)."""

    SORTED = "sorted"
    ANY = "any"


class OverflowPolicy(StrEnum):
    SPLIT = "split"
    REJECT = "reject"


class OversizePolicy(StrEnum):
    """What to do with one entry whose media alone exceeds the per-batch media budget (a 5 GB video)."""

    OWN_CHUNK = "own_chunk"
    REJECT = "reject"


@dataclass(frozen=True)
class ManifestConfig:
    """Build options. Limits above Encord's are refused; lower ones are fine."""

    format: ManifestFormat = ManifestFormat.JSON
    skip_duplicate_urls: bool = True
    type_map: TypeMap = field(default_factory=TypeMap)
    image_mode: ImageMode = ImageMode.SINGLE  # for images no rule matches
    # Ordered per-key image modes, first match wins (see image_modes.py). Also accepts
    # "PATTERN=MODE" strings and {match|regex, mode} mappings.
    image_mode_rules: tuple[ImageModeRule, ...] = ()
    group_regex: str | None = None  # capture group 1 (or named `group`) = group id; default: parent prefix
    group_dicom: bool = True  # DICOM files form series per parent prefix / regex group
    max_sequence_frames: int = MAX_SEQUENCE_FRAMES
    sequence_overflow: OverflowPolicy = OverflowPolicy.SPLIT
    max_group_objects: int = MAX_SEQUENCE_FRAMES  # image groups and DICOM series too (bounds memory)
    group_overflow: OverflowPolicy = OverflowPolicy.SPLIT
    title_strip_prefix: str = ""
    max_entries: int = MAX_ENTRIES_PER_FILE
    per_type: Mapping[DataType, int] = field(default_factory=lambda: dict(DEFAULT_PER_TYPE))
    max_urls: int = MAX_URLS_PER_FILE
    max_manifest_bytes: int = MAX_JSON_BYTES
    max_media_bytes: int = MAX_MEDIA_BYTES_PER_BATCH
    oversize_policy: OversizePolicy = OversizePolicy.OWN_CHUNK
    mix_types: bool = True  # one chunk may hold several types (JSON: one list per key; CSV: sections)
    sidecar_suffix: str | None = None  # e.g. ".metadata.json": `<key><suffix>` holds clientMetadata
    probe_images: bool = False
    probe_videos: bool = False
    probe_pdfs: bool = False
    input_order: InputOrder = InputOrder.SORTED
    chunk_prefix: str = "chunk-"
    spill_dir: str | None = None

    def __post_init__(self) -> None:
        per_type = {
            parse_data_type(str(k)) if not isinstance(k, DataType) else k: v for k, v in self.per_type.items()
        }
        object.__setattr__(self, "per_type", per_type)
        enums = {
            "format": ManifestFormat,
            "image_mode": ImageMode,
            "sequence_overflow": OverflowPolicy,
            "group_overflow": OverflowPolicy,
            "oversize_policy": OversizePolicy,
            "input_order": InputOrder,
        }
        for name, enum in enums.items():
            object.__setattr__(self, name, enum(getattr(self, name)))
        rules = tuple(ImageModeRule.coerce(rule, i) for i, rule in enumerate(self.image_mode_rules))
        object.__setattr__(self, "image_mode_rules", rules)
        self._check_bounds()

    def _check_bounds(self) -> None:
        bounds = {
            "max_entries": (self.max_entries, MAX_ENTRIES_PER_FILE),
            "max_urls": (self.max_urls, MAX_URLS_PER_FILE),
            "max_manifest_bytes": (self.max_manifest_bytes, MAX_JSON_BYTES),
            "max_media_bytes": (self.max_media_bytes, MAX_MEDIA_BYTES_PER_BATCH),
            "max_sequence_frames": (self.max_sequence_frames, MAX_SEQUENCE_FRAMES),
            "max_group_objects": (self.max_group_objects, MAX_URLS_PER_FILE),
        }
        for name, (value, limit) in bounds.items():
            if not 1 <= value <= limit:
                raise ValueError(f"{name}={value} is outside Encord's limit 1..{limit}")
        for kind, count in self.per_type.items():
            if count < 1:  # counts above max_entries are capped by it (see entry_limit)
                raise ValueError(f"per_type[{kind}]={count} must be at least 1")
        if self.sidecar_suffix is not None and not self.sidecar_suffix.strip():
            raise ValueError("sidecar_suffix must not be blank")
        folders = self.chunk_prefix.split("/")[:-1]  # "run1/c-" writes into run1/ under the sink
        if not self.chunk_prefix or "\\" in self.chunk_prefix or any(f in ("", ".", "..") for f in folders):
            raise ValueError(
                f"chunk_prefix {self.chunk_prefix!r} must stay inside the output (no '..', '.' or empty "
                "folders, no leading '/' or '\\')"
            )

    def entry_limit(self, data_type: DataType) -> int:
        return min(self.per_type.get(data_type, self.max_entries), self.max_entries)

    @property
    def probing(self) -> bool:
        return self.probe_images or self.probe_videos or self.probe_pdfs
