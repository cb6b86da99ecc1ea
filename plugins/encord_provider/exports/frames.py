"""Walk the frames of an Encord label-row dict (`LabelRowV2.to_encord_dict()` shape).

Images and image-group members have one frame each (their labels are `{"objects", "classifications"}`);
videos, DICOM and NIfTI units are keyed by frame number. A frame of those that carries no object but is
covered by a classification's range still counts as labelled (COCO needs classification-only images).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

COCO_IMAGE_MIME_PREFIXES = ("image/", "video/", "application/dicom")


@dataclass(frozen=True, slots=True)
class Frame:
    """The labels of one image, video frame, DICOM slice or image-group member."""

    row: dict[str, Any]
    unit: dict[str, Any]
    frame: int
    objects: list[dict[str, Any]]
    classifications: list[dict[str, Any]]
    keyed_by_frame: bool = False

    @property
    def is_video_frame(self) -> bool:
        return str(self.unit.get("data_type", "")).startswith("video/")

    @property
    def image_key(self) -> tuple[str, int]:
        return (str(self.unit["data_hash"]), self.frame)

    @property
    def file_name(self) -> str:
        """Unique per frame (Encord's exporter's names: videos/…/N.jpg, dicom/…/N, images/….ext)."""
        data_hash = self.unit["data_hash"]
        if self.is_video_frame:
            return f"videos/{data_hash}/{self.frame}.jpg"
        if str(self.unit.get("data_type", "")).startswith("application/dicom"):
            return f"dicom/{data_hash}/{self.frame}"
        title = str(self.unit.get("data_title") or "")
        extension = title.rsplit(".", 1)[-1] if "." in title else "jpg"
        if self.keyed_by_frame:
            return f"images/{data_hash}/{self.frame}.{extension}"
        return f"images/{data_hash}.{extension}"


def _is_single_frame(labels: dict[str, Any]) -> bool:
    return "objects" in labels or "classifications" in labels


def classification_frames(row: dict[str, Any]) -> set[int]:
    """Every frame a classification of `row` covers (`classification_answers[*].range`)."""
    frames: set[int] = set()
    for answer in (row.get("classification_answers") or {}).values():
        for pair in (answer or {}).get("range") or []:
            if isinstance(pair, list | tuple) and len(pair) == 2:
                frames.update(range(int(pair[0]), int(pair[1]) + 1))
    return frames


def _unit_frames(row: dict[str, Any], unit: dict[str, Any], extra_frames: set[int]) -> Iterator[Frame]:
    labels = unit.get("labels") or {}
    if _is_single_frame(labels):
        frame = int(unit.get("data_sequence") or 0) if row.get("data_type") == "img_group" else 0
        yield Frame(row, unit, frame, labels.get("objects") or [], labels.get("classifications") or [])
        return
    keyed = {int(k): v or {} for k, v in labels.items() if str(k).isdigit()}
    for frame in sorted(keyed.keys() | extra_frames):
        frame_labels = keyed.get(frame, {})
        yield Frame(
            row,
            unit,
            frame,
            frame_labels.get("objects") or [],
            frame_labels.get("classifications") or [],
            keyed_by_frame=True,
        )


def iter_frames(row: dict[str, Any], *, classification_only_frames: bool = False) -> Iterator[Frame]:
    """Every labelled frame of every data unit, in data-sequence order.

    With `classification_only_frames`, frames of a frame-keyed unit (video, DICOM) that only a
    classification covers are yielded too (with no objects).
    """
    units = sorted((row.get("data_units") or {}).values(), key=lambda u: int(u.get("data_sequence") or 0))
    extra = classification_frames(row) if classification_only_frames and len(units) == 1 else set()
    for unit in units:
        yield from _unit_frames(row, unit, extra)


def is_coco_visual(unit: dict[str, Any]) -> bool:
    """COCO only holds pixel data: images, video frames, DICOM slices."""
    return str(unit.get("data_type", "")).startswith(COCO_IMAGE_MIME_PREFIXES)
