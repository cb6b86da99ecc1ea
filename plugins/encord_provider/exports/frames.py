"""Walk the frames of an Encord label-row dict (`LabelRowV2.to_encord_dict()` shape)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

COCO_IMAGE_MIME_PREFIXES = ("image/", "video/", "application/dicom")


@dataclass(frozen=True, slots=True)
class Frame:
    """The labels of one image, video frame or image-group member."""

    row: dict[str, Any]
    unit: dict[str, Any]
    frame: int
    objects: list[dict[str, Any]]
    classifications: list[dict[str, Any]]

    @property
    def is_video_frame(self) -> bool:
        return str(self.unit.get("data_type", "")).startswith("video/")

    @property
    def image_key(self) -> tuple[str, int]:
        return (str(self.unit["data_hash"]), self.frame)

    @property
    def file_name(self) -> str:
        data_hash = self.unit["data_hash"]
        if self.is_video_frame:
            return f"videos/{data_hash}/{self.frame}.jpg"
        title = str(self.unit.get("data_title") or "")
        extension = title.rsplit(".", 1)[-1] if "." in title else "jpg"
        return f"images/{data_hash}.{extension}"


def _unit_frames(row: dict[str, Any], unit: dict[str, Any]) -> Iterator[Frame]:
    labels = unit.get("labels") or {}
    if "objects" in labels or "classifications" in labels:
        frame = int(unit.get("data_sequence") or 0) if row.get("data_type") == "img_group" else 0
        yield Frame(row, unit, frame, labels.get("objects") or [], labels.get("classifications") or [])
        return
    for key in sorted(labels, key=lambda k: int(k) if str(k).isdigit() else -1):
        frame_labels = labels[key] or {}
        if not str(key).isdigit():
            continue
        yield Frame(
            row, unit, int(key), frame_labels.get("objects") or [], frame_labels.get("classifications") or []
        )


def iter_frames(row: dict[str, Any]) -> Iterator[Frame]:
    """Every labelled frame of every data unit, in data-sequence order."""
    units = sorted((row.get("data_units") or {}).values(), key=lambda u: int(u.get("data_sequence") or 0))
    for unit in units:
        yield from _unit_frames(row, unit)


def is_coco_visual(unit: dict[str, Any]) -> bool:
    """COCO only holds pixel data: images, video frames, DICOM slices."""
    return str(unit.get("data_type", "")).startswith(COCO_IMAGE_MIME_PREFIXES)


def answer_value(answers: Any) -> Any:
    """Flatten an Encord answer list (radio/checklist) to names; text/number answers pass through."""
    if isinstance(answers, list):
        names = [a.get("name") or a.get("value") for a in answers if isinstance(a, dict)]
        return names[0] if len(names) == 1 else names
    return answers


def flat_attributes(classifications: list[dict[str, Any]]) -> dict[str, Any]:
    """`{attribute name: answer}` for one object's (or classification's) nested answers."""
    return {
        str(c.get("name")): answer_value(c.get("answers")) for c in classifications if isinstance(c, dict)
    }
