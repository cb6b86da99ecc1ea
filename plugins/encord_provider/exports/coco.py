"""Streaming COCO writer: label rows in, `coco.json` out, memory bounded by one row at a time.

Images and annotations go to two spool files as they arrive; `close()` stitches them into one JSON document.
Categories come from the project ontology (ids from 1, in ontology order, as Encord's own exporter). A skeleton
category lists its template's keypoint names and its edges as 1-based keypoint pairs (the COCO keypoint spec);
a point category has the one keypoint "keypoint". Video and DICOM frames that only a classification covers
are images too, with no annotation.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, BinaryIO

from encord_provider.exports.attributes import AttributeIndex
from encord_provider.exports.frames import Frame, is_coco_visual, iter_frames
from encord_provider.exports.geometry import to_coco
from encord_provider.exports.model import CocoOptions, ExportError

NON_VISUAL_SHAPES = {"audio", "text"}
Keypoint = tuple[str, str | None]


def _skeleton_template(ontology: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    """The template of a skeleton object: same feature node hash (how the editor links them), else same name."""
    templates = [
        entry.get("template", entry)
        for entry in ontology.get("skeleton_templates") or []
        if isinstance(entry, dict)
    ]
    for template in templates:
        if obj.get("featureNodeHash") and template.get("feature_node_hash") == obj.get("featureNodeHash"):
            return dict(template)
    return next((dict(t) for t in templates if t.get("name") == obj.get("name")), {})


def skeleton_keypoints(template: dict[str, Any]) -> tuple[list[Keypoint], list[list[int]]]:
    """(keypoint names with feature hashes, 1-based edges) of a skeleton template."""
    nodes = template.get("skeleton") or {}
    order = sorted(nodes, key=lambda k: int(k) if str(k).isdigit() else len(nodes))
    position = {str(key): index for index, key in enumerate(order)}
    keypoints = [(str(nodes[k].get("name") or k), nodes[k].get("featureHash")) for k in order]
    edges: list[list[int]] = []
    for start, ends in (template.get("skeletonEdges") or template.get("skeleton_edges") or {}).items():
        for end in ends or {}:
            if str(start) in position and str(end) in position:
                edges.append([position[str(start)] + 1, position[str(end)] + 1])
    return keypoints, edges


def coco_categories(ontology: dict[str, Any]) -> list[dict[str, Any]]:
    """One category per ontology object with a pixel shape."""
    categories: list[dict[str, Any]] = []
    for obj in ontology.get("objects") or []:
        shape = str(obj.get("shape"))
        if shape in NON_VISUAL_SHAPES:
            continue
        category: dict[str, Any] = {
            "id": len(categories) + 1,
            "name": obj.get("name"),
            "supercategory": shape,
            "feature_hash": obj.get("featureNodeHash"),
        }
        if shape == "point":
            category.update(keypoints=["keypoint"], skeleton=[])
        elif shape == "skeleton":
            keypoints, edges = skeleton_keypoints(_skeleton_template(ontology, obj))
            category.update(
                keypoints=[name for name, _ in keypoints],
                skeleton=edges,
                keypoint_feature_hashes=[feature_hash for _, feature_hash in keypoints],
            )
        categories.append(category)
    return categories


_COMPACT = json.JSONEncoder(separators=(",", ":"))
"""`json.dumps(..., separators=(",", ":"))` without building an encoder per item (same bytes)."""


class _JsonArraySpool:
    """Comma-separated JSON items appended to a file, to be spliced into an array later."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: BinaryIO = path.open("wb")
        self.count = 0

    def append(self, item: dict[str, Any]) -> None:
        if self.count:
            self._fh.write(b",\n")
        self._fh.write(_COMPACT.encode(item).encode())
        self.count += 1

    def close(self) -> None:
        self._fh.close()


class CocoWriter:
    """Accumulate label rows into a COCO file at `path` (write with `add_row`, finish with `close`)."""

    def __init__(
        self,
        path: Path,
        ontology: dict[str, Any],
        description: str = "",
        options: CocoOptions | None = None,
    ) -> None:
        self.path = path
        self.description = description
        self.options = options or CocoOptions()
        self.categories = coco_categories(ontology)
        self._category_by_feature = {c["feature_hash"]: c["id"] for c in self.categories}
        self._keypoints_by_category: dict[int, list[Keypoint]] = {
            c["id"]: list(zip(c["keypoints"], c["keypoint_feature_hashes"], strict=True))
            for c in self.categories
            if "keypoint_feature_hashes" in c
        }
        self._attributes = AttributeIndex(ontology)
        self._images = _JsonArraySpool(path.with_name(path.name + ".images.part"))
        self._annotations = _JsonArraySpool(path.with_name(path.name + ".annotations.part"))
        self._next_track_id = 0
        self.skipped_frames = 0

    @property
    def counts(self) -> dict[str, int]:
        return {
            "coco_images": self._images.count,
            "coco_annotations": self._annotations.count,
            "coco_categories": len(self.categories),
            "coco_skipped_frames": self.skipped_frames,
        }

    def add_row(self, row: dict[str, Any]) -> None:
        track_ids: dict[str, int] = {}
        for frame in iter_frames(row, classification_only_frames=True):
            if not is_coco_visual(frame.unit):
                continue
            width, height = frame.unit.get("width"), frame.unit.get("height")
            if not width or not height:
                self.skipped_frames += 1  # normalised coordinates cannot be scaled without a size
                continue
            image_id = self._images.count + 1
            self._images.append(self._image(frame, image_id, int(width), int(height)))
            for obj in frame.objects:
                self._add_annotation(frame, obj, image_id, int(width), int(height), track_ids)

    def _image(self, frame: Frame, image_id: int, width: int, height: int) -> dict[str, Any]:
        return {
            "id": image_id,
            "file_name": frame.file_name,
            "width": width,
            "height": height,
            "coco_url": frame.unit.get("data_link"),
            "image_title": frame.unit.get("data_title"),
            "data_hash": frame.unit.get("data_hash"),
            "label_hash": frame.row.get("label_hash"),
            "frame": frame.frame,
        }

    def _category_id(self, frame: Frame, obj: dict[str, Any]) -> int:
        feature_hash = obj.get("featureHash")
        if feature_hash not in self._category_by_feature:
            raise ExportError(
                f"label row {frame.row.get('label_hash')} (data {frame.unit.get('data_hash')}, frame "
                f"{frame.frame}): object {obj.get('objectHash')} has featureHash {feature_hash!r} "
                "which is not an object of the project ontology"
            )
        return int(self._category_by_feature[feature_hash])

    def _add_annotation(
        self,
        frame: Frame,
        obj: dict[str, Any],
        image_id: int,
        width: int,
        height: int,
        track_ids: dict[str, int],
    ) -> None:
        category_id = self._category_id(frame, obj)
        geometry = to_coco(obj, width, height, self.options, self._keypoints_by_category.get(category_id, ()))
        if geometry is None:
            return
        object_hash = str(obj.get("objectHash"))
        if object_hash not in track_ids:
            track_ids[object_hash] = self._next_track_id
            self._next_track_id += 1
        attributes: dict[str, Any] = {
            "track_id": track_ids[object_hash],
            "encord_track_uuid": object_hash,
            "manual_annotation": obj.get("manualAnnotation"),
            "classifications": self._attributes.object_attributes(frame.row, obj, frame.frame),
        }
        if geometry.rotation is not None:
            attributes["rotation"] = geometry.rotation
        self._annotations.append(
            {
                "id": self._annotations.count + 1,
                "image_id": image_id,
                "category_id": category_id,
                "bbox": list(geometry.bbox),
                "area": geometry.area,
                "segmentation": geometry.segmentation,
                "iscrowd": geometry.iscrowd,
                "keypoints": geometry.keypoints,
                "num_keypoints": geometry.num_keypoints,
                "attributes": attributes,
            }
        )

    def close(self) -> Path:
        """Stitch the spools into `path` and delete them."""
        self._images.close()
        self._annotations.close()
        info = {"description": self.description, "version": None, "year": None, "url": None}
        head = {"info": info, "licenses": [], "categories": self.categories}
        with self.path.open("wb") as out:
            out.write(json.dumps(head, separators=(",", ":"))[:-1].encode())
            for name, spool in (("images", self._images), ("annotations", self._annotations)):
                out.write(f',"{name}":['.encode())
                with spool.path.open("rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
                out.write(b"]")
            out.write(b"}")
        self._images.path.unlink()
        self._annotations.path.unlink()
        return self.path
