"""Value types shared by the export modules: row references, filters, manifest and result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from encord_provider.errors import TransientError

VersionKind = Literal["full", "incremental"]
LabelStatusName = Literal[
    "NOT_LABELLED", "LABEL_IN_PROGRESS", "LABELLED", "REVIEW_IN_PROGRESS", "REVIEWED", "REVIEWED_TWICE"
]
"""The label statuses of Encord's Legacy export dialog (`encord.orm.label_row.LabelStatus`)."""
DataUnits = Literal["labelled", "all"]
"""Export only data units that have a label row, or every data unit (unlabelled ones with empty labels)."""
MANIFEST_SCHEMA = "encord-label-export/1"


class ExportError(TransientError, RuntimeError):
    """An export could not be written; the message names the label row / object / file at fault."""


def as_utc(value: datetime | str | None) -> datetime | None:
    """SDK timestamps are naive UTC (or ISO strings); make them aware so they compare reliably."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class RowRef:
    """The metadata of one label row needed to pick and fingerprint it before fetching its labels."""

    label_hash: str
    data_hash: str
    last_edited_at: datetime | None
    listing: str = field(default="", compare=False)
    """What the source keeps from its listing for the fetch (opaque here; `SdkLabelSource`: a `RowListing`)."""

    def fingerprint(self) -> str:
        edited = self.last_edited_at.isoformat() if self.last_edited_at else "-"
        return f"{self.label_hash}:{edited}"

    def to_row(self) -> tuple[str, str, str]:
        """`(label_hash, data_hash, last_edited_at ISO or "")`: a line of `source_rows.csv` and the spools."""
        return (
            self.label_hash,
            self.data_hash,
            self.last_edited_at.isoformat() if self.last_edited_at else "",
        )

    def to_spool_row(self) -> tuple[str, str, str, str]:
        """`to_row()` plus the listing: a line of the listing spool and of the fetch list (not exported)."""
        return (*self.to_row(), self.listing)

    @classmethod
    def from_row(cls, row: tuple[str, ...] | list[str]) -> RowRef:
        """From `to_row()` or `to_spool_row()`."""
        listing = row[3] if len(row) > 3 else ""
        return cls(row[0], row[1], datetime.fromisoformat(row[2]) if row[2] else None, listing)


class ExportFilters(BaseModel):
    """What to export; the same filters are recorded in the manifest of every version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: str | None = None
    include_object_feature_hashes: tuple[str, ...] | None = None
    include_classification_feature_hashes: tuple[str, ...] | None = None
    signed_urls: bool = False
    label_statuses: tuple[LabelStatusName, ...] | None = None
    data_units: DataUnits = "labelled"


class CocoOptions(BaseModel):
    """How `coco.json` writes shapes COCO has no exact form for. The defaults load in pycocotools
    (`COCO()`, `annToMask`, COCOeval), FiftyOne and detectron2; "encord" values reproduce Encord's own exporter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    point_segmentation: Literal["polygon", "encord"] = Field(
        default="polygon",
        description="Points and skeletons: 'polygon' = a zero-area triangle at the point (empty mask); "
        "'encord' = [[x, y]] for points and [] for skeletons, which annToMask cannot decode.",
    )
    mask_iscrowd: bool = Field(
        default=False,
        description="Bitmasks and polygons with holes are RLE masks; true marks them iscrowd=1, which "
        "COCOeval ignores and detectron2 drops when training.",
    )


class FileEntry(BaseModel):
    path: str
    bytes: int
    sha256: str
    rows: int | None = None


class Manifest(BaseModel):
    """`manifest.json` of one version. Written just before `_SUCCESS`."""

    model_config = ConfigDict(extra="allow")

    schema_version: str = MANIFEST_SCHEMA
    project: str
    project_hash: str
    version: str
    number: int = Field(ge=1)
    kind: VersionKind
    created_at: datetime
    previous_version: str | None
    base_version: str | None = Field(
        description="The full snapshot this version builds on (itself when full)."
    )
    run_key: str | None = None
    filters: ExportFilters
    coco_options: CocoOptions = Field(default_factory=lambda: CocoOptions())
    edited_after: datetime | None
    high_water_mark: datetime | None
    boundary_rows: list[str] = Field(
        default_factory=list, description="Fingerprints of rows edited exactly at high_water_mark."
    )
    source_rows: int
    source_digest: str
    counts: dict[str, int]
    files: list[FileEntry]

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True, indent=2).encode()

    def file(self, name: str) -> FileEntry | None:
        """The entry of the file called `name` in this version, if it has one."""
        return next((entry for entry in self.files if entry.path == name), None)


class ExportResult(BaseModel):
    """The small summary an export returns (fits in an XCom)."""

    status: Literal["written", "unchanged", "reused"]
    project: str
    version: str | None
    uri: str | None
    kind: VersionKind | None
    previous_version: str | None
    counts: dict[str, int] = Field(default_factory=dict)
    reason: str = ""

    def xcom(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
