"""Synthetic label rows in the SDK's `to_encord_dict()` shape, built offline (benchmarks, tests, docs).

`GeneratedLabelSource` makes rows lazily, a page at a time, so a large export never holds them all in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from encord.common.bitmask_operations.bitmask_operations import serialise_bitmask

from encord_provider.exports.model import ExportFilters, RowRef
from encord_provider.exports.pages import batched

WIDTH, HEIGHT = 64, 48
FEATURES = {
    "box": "b0x00001",
    "polygon": "p0ly0001",
    "polyline": "l1ne0001",
    "point": "p01nt001",
    "mask": "m4sk0001",
    "colour": "c0l0ur01",
    "red": "red00001",
    "weather": "we4th3r1",
    "weather_q": "we4thq01",
    "sunny": "sunny001",
}
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_TS = "%a, %d %b %Y %H:%M:%S UTC"


def _object(oid: str, name: str, shape: str, feature: str) -> dict[str, Any]:
    return {"id": oid, "name": name, "color": "#D33115", "shape": shape, "featureNodeHash": feature,
            "required": False, "archived": False, "attributes": []}  # fmt: skip


def synthetic_ontology() -> dict[str, Any]:
    """An ontology with one object per COCO-relevant shape and one radio classification."""
    box = _object("1", "car", "bounding_box", FEATURES["box"])
    box["attributes"] = [
        {"id": "1.1", "name": "colour", "type": "radio", "featureNodeHash": FEATURES["colour"], "required": False,
         "archived": False, "dynamic": False,
         "options": [{"id": "1.1.1", "label": "red", "value": "red", "featureNodeHash": FEATURES["red"], "archived": False}]}
    ]  # fmt: skip
    return {
        "objects": [
            box,
            _object("2", "road", "polygon", FEATURES["polygon"]),
            _object("3", "lane", "polyline", FEATURES["polyline"]),
            _object("4", "pin", "point", FEATURES["point"]),
            _object("5", "sky", "bitmask", FEATURES["mask"]),
        ],
        "classifications": [
            {"id": "1", "featureNodeHash": FEATURES["weather"],
             "attributes": [{"id": "1.1", "name": "weather", "type": "radio", "featureNodeHash": FEATURES["weather_q"],
                             "required": False, "archived": False, "dynamic": False,
                             "options": [{"id": "1.1.1", "label": "sunny", "value": "sunny",
                                          "featureNodeHash": FEATURES["sunny"], "archived": False}]}]}
        ],
        "skeleton_templates": [],
    }  # fmt: skip


def _hash(*parts: object, length: int = 8) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:length]


def _uuid(*parts: object) -> str:
    h = _hash(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _base_object(name: str, shape: str, feature: str, object_hash: str, stamp: str) -> dict[str, Any]:
    return {"name": name, "color": "#D33115", "shape": shape, "value": name, "createdAt": stamp, "createdBy": None,
            "confidence": 1.0, "objectHash": object_hash, "featureHash": feature, "manualAnnotation": True,
            "lastEditedAt": stamp, "lastEditedBy": None, "reviews": []}  # fmt: skip


@lru_cache(maxsize=8)
def mask_rle(width: int = WIDTH, height: int = HEIGHT) -> str:
    """Encord RLE of a mask whose top-left quarter is set (row-major, as Encord stores it)."""
    mask = np.zeros((height, width), dtype=bool)
    mask[: height // 2, : width // 2] = True
    return serialise_bitmask(mask.tobytes())


def synthetic_objects(
    index: int, stamp: str, with_mask: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The objects of one image and their `object_answers`."""
    shift = (index % 10) / 100
    box = _base_object("car", "bounding_box", FEATURES["box"], _hash(index, "box"), stamp)
    box["boundingBox"] = {"x": 0.1 + shift, "y": 0.2, "w": 0.3, "h": 0.25}
    poly = _base_object("road", "polygon", FEATURES["polygon"], _hash(index, "poly"), stamp)
    poly["polygon"] = {"0": {"x": 0.1, "y": 0.6}, "1": {"x": 0.5, "y": 0.6}, "2": {"x": 0.3, "y": 0.9}}
    line = _base_object("lane", "polyline", FEATURES["polyline"], _hash(index, "line"), stamp)
    line["polyline"] = {"0": {"x": 0.0, "y": 0.5}, "1": {"x": 0.5, "y": 0.5}, "2": {"x": 1.0, "y": 0.7}}
    pin = _base_object("pin", "point", FEATURES["point"], _hash(index, "pin"), stamp)
    pin["point"] = {"0": {"x": 0.5, "y": 0.5}}
    objects = [box, poly, line, pin]
    if with_mask:
        sky = _base_object("sky", "bitmask", FEATURES["mask"], _hash(index, "mask"), stamp)
        sky["bitmask"] = {"top": 0, "left": 0, "width": WIDTH, "height": HEIGHT, "rleString": mask_rle()}
        objects.append(sky)
    answers = {o["objectHash"]: {"objectHash": o["objectHash"], "classifications": []} for o in objects}
    answers[box["objectHash"]]["classifications"] = [
        {"name": "colour", "value": "colour", "featureHash": FEATURES["colour"], "manualAnnotation": True,
         "answers": [{"name": "red", "value": "red", "featureHash": FEATURES["red"]}]}
    ]  # fmt: skip
    return objects, answers


def synthetic_label_row(index: int, edited: datetime | None = None, with_mask: bool = True) -> dict[str, Any]:
    """One labelled image row (640x480 nominal size is kept small so masks stay cheap)."""
    edited = edited or EPOCH + timedelta(seconds=index)
    stamp = edited.strftime(_TS)
    data_hash = _uuid(index, "data")
    objects, object_answers = synthetic_objects(index, stamp, with_mask)
    classification_hash = _hash(index, "cls")
    return {
        "label_hash": _uuid(index, "label"), "branch_name": "main",
        "created_at": edited.strftime("%Y-%m-%d %H:%M:%S"), "last_edited_at": edited.strftime("%Y-%m-%d %H:%M:%S"),
        "data_hash": data_hash, "dataset_hash": _uuid("dataset"), "dataset_title": "synthetic",
        "data_title": f"img-{index:06d}.jpg", "data_type": "image", "annotation_task_status": None,
        "is_shadow_data": False, "label_status": "LABELLED", "spaces": {},
        "data_units": {
            data_hash: {
                "data_hash": data_hash, "data_title": f"img-{index:06d}.jpg", "data_type": "image/jpeg",
                "data_sequence": 0, "data_link": f"s3://media/img-{index:06d}.jpg", "width": WIDTH, "height": HEIGHT,
                "labels": {"objects": objects, "classifications": []},
            }
        },
        "object_answers": object_answers,
        "classification_answers": {
            classification_hash: {
                "classificationHash": classification_hash, "featureHash": FEATURES["weather"], "spaces": {},
                "range": [[0, 0]], "createdBy": None, "createdAt": stamp, "lastEditedBy": None, "lastEditedAt": stamp,
                "confidence": 1.0, "manualAnnotation": True,
                "classifications": [{"name": "weather", "value": "weather", "featureHash": FEATURES["weather_q"],
                                     "manualAnnotation": True,
                                     "answers": [{"name": "sunny", "value": "sunny", "featureHash": FEATURES["sunny"]}]}],
            }
        },
        "object_actions": {},
    }  # fmt: skip


class GeneratedLabelSource:
    """A LabelSource over rows made on demand by `make_row(index, edited_at)`; `edited_at(index)` drives incrementals."""

    def __init__(
        self,
        count: int,
        make_row: Callable[[int, datetime], dict[str, Any]] = synthetic_label_row,
        ontology: dict[str, Any] | None = None,
        edited_at: Callable[[int], datetime] | None = None,
        page_size: int = 500,
    ) -> None:
        self.count = count
        self.make_row = make_row
        self._ontology = ontology or synthetic_ontology()
        self.edited_at = edited_at or (lambda i: EPOCH + timedelta(seconds=i))
        self.page_size = page_size
        self.workers = 1
        self.fetched: list[int] = []
        self._index_of: dict[str, int] | None = None

    def ontology(self) -> dict[str, Any]:
        return self._ontology

    def list_rows(self, filters: ExportFilters) -> Iterator[RowRef]:
        """Every row, in index order (subclasses filter here)."""
        for index in range(self.count):
            yield RowRef(_uuid(index, "label"), _uuid(index, "data"), self.edited_at(index))

    def list_pages(self, filters: ExportFilters) -> Iterator[list[RowRef]]:
        return batched(self.list_rows(filters), self.page_size)

    def fetch(self, refs: Sequence[RowRef], filters: ExportFilters) -> list[dict[str, Any]]:
        if self._index_of is None:  # label hashes are not invertible: one map, built on first use
            self._index_of = {_uuid(i, "label"): i for i in range(self.count)}
        rows = []
        for ref in refs:
            index = self._index_of[ref.label_hash]
            self.fetched.append(index)
            rows.append(self.make_row(index, self.edited_at(index)))
        return rows
