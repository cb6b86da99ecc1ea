"""Encord object geometry (normalised 0..1 coordinates, Encord RLE) -> COCO pixel geometry.

Encord bitmasks are RLE strings of the row-major mask (same character encoding as COCO's compressed
counts); COCO wants the column-major mask, so masks are decoded, transposed and re-encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pycocotools import mask as cocomask

Point = tuple[float, float]
SHAPE_KEYS = ("boundingBox", "rotatableBoundingBox", "polygon", "polyline", "point", "skeleton", "bitmask")
_VISIBILITY = {"invisible": 1, "occluded": 1, "selfOccluded": 1}


@dataclass(slots=True)
class CocoGeometry:
    bbox: tuple[float, float, float, float]
    area: float
    segmentation: list[list[float]] | dict[str, Any] = field(default_factory=list)
    iscrowd: int = 0
    keypoints: list[float] | None = None
    num_keypoints: int | None = None
    rotation: float | None = None


def shape_key(obj: dict[str, Any]) -> str | None:
    """The geometry key present on an Encord object dict (`polygons` counts as polygon)."""
    for key in SHAPE_KEYS:
        if obj.get(key) is not None:
            return key
    return "polygon" if obj.get("polygons") else None


def _ordered_points(raw: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(raw, list):
        return raw
    return [raw[k] for k in sorted(raw, key=int)]


def _scaled(points: list[dict[str, Any]], width: int, height: int) -> list[Point]:
    return [(float(p["x"]) * width, float(p["y"]) * height) for p in points]


def _bounds(points: list[Point]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _shoelace(points: list[Point]) -> float:
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2.0


def _flat(points: list[Point]) -> list[float]:
    return [c for p in points for c in p]


def _rle_json(rle: dict[str, Any]) -> dict[str, Any]:
    counts = rle["counts"]
    return {
        "size": [int(s) for s in rle["size"]],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


def _rle_geometry(rle: dict[str, Any]) -> CocoGeometry:
    x, y, w, h = (float(v) for v in cocomask.toBbox(rle))
    return CocoGeometry(
        bbox=(x, y, w, h), area=float(cocomask.area(rle)), segmentation=_rle_json(rle), iscrowd=1
    )


def bounding_box(box: dict[str, Any], width: int, height: int) -> CocoGeometry:
    x, y = float(box["x"]) * width, float(box["y"]) * height
    w, h = float(box["w"]) * width, float(box["h"]) * height
    return CocoGeometry(
        bbox=(x, y, w, h), area=w * h, segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]
    )


def rotatable_box(box: dict[str, Any], width: int, height: int) -> CocoGeometry:
    geometry = bounding_box(box, width, height)
    geometry.rotation = float(box.get("theta", 0.0))
    return geometry


def _polygons_to_rle(polygons: list[list[list[float]]], width: int, height: int) -> dict[str, Any]:
    """Rasterise [[ring, *holes], ...] (flat normalised coords) into one COCO RLE."""
    canvas = np.zeros((height, width), dtype=np.uint8, order="F")
    for polygon in polygons:
        for ring_index, ring in enumerate(polygon):
            pixel_ring = [c * (width if i % 2 == 0 else height) for i, c in enumerate(ring)]
            if len(pixel_ring) < 6:
                continue
            ring_mask = cocomask.decode(cocomask.merge(cocomask.frPyObjects([pixel_ring], height, width)))
            canvas = np.where(ring_mask > 0, 0 if ring_index else 1, canvas).astype(np.uint8)
    return cocomask.encode(np.asfortranarray(canvas))


def polygon(obj: dict[str, Any], width: int, height: int) -> CocoGeometry:
    polygons = obj.get("polygons") or []
    if len(polygons) > 1 or (polygons and len(polygons[0]) > 1):
        return _rle_geometry(_polygons_to_rle(polygons, width, height))
    if obj.get("polygon"):
        points = _scaled(_ordered_points(obj["polygon"]), width, height)
    else:
        ring = polygons[0][0]
        points = [(ring[i] * width, ring[i + 1] * height) for i in range(0, len(ring) - 1, 2)]
    return CocoGeometry(bbox=_bounds(points), area=_shoelace(points), segmentation=[_flat(points)])


def polyline(raw: dict[str, Any] | list[dict[str, Any]], width: int, height: int) -> CocoGeometry:
    points = _scaled(_ordered_points(raw), width, height)
    # COCO has no polyline: walk back along the line so it becomes an area-less polygon (as Encord's exporter).
    walk = points + points[-2:0:-1]
    return CocoGeometry(bbox=_bounds(points), area=0.0, segmentation=[_flat(walk)])


def point(raw: dict[str, Any], width: int, height: int) -> CocoGeometry:
    x, y = _scaled([_ordered_points(raw)[0]], width, height)[0]
    return CocoGeometry(
        bbox=(x, y, 0.0, 0.0), area=0.0, segmentation=[[x, y]], keypoints=[x, y, 2], num_keypoints=1
    )


def skeleton(raw: dict[str, Any], width: int, height: int) -> CocoGeometry:
    nodes = _ordered_points(raw)
    points = _scaled(nodes, width, height)
    keypoints: list[float] = []
    for (x, y), node in zip(points, nodes, strict=True):
        keypoints += [x, y, _VISIBILITY.get(str(node.get("visibility")), 2)]
    return CocoGeometry(
        bbox=_bounds(points), area=0.0, segmentation=[], keypoints=keypoints, num_keypoints=len(points)
    )


def bitmask(raw: dict[str, Any]) -> CocoGeometry:
    width, height = int(raw["width"]), int(raw["height"])
    # Decoding the row-major string as if column-major gives the transposed mask.
    transposed = cocomask.decode({"size": [width, height], "counts": raw["rleString"].encode("ascii")})
    top, left = int(raw.get("top") or 0), int(raw.get("left") or 0)
    mask = transposed.T
    if top or left:
        mask = np.pad(mask, ((top, 0), (left, 0)))
    return _rle_geometry(cocomask.encode(np.asfortranarray(mask)))


def to_coco(obj: dict[str, Any], width: int, height: int) -> CocoGeometry | None:
    """COCO geometry of one Encord object; None for shapes COCO cannot hold (audio/text ranges)."""
    key = shape_key(obj)
    if key == "boundingBox":
        return bounding_box(obj[key], width, height)
    if key == "rotatableBoundingBox":
        return rotatable_box(obj[key], width, height)
    if key == "polygon":
        return polygon(obj, width, height)
    if key == "polyline":
        return polyline(obj[key], width, height)
    if key == "point":
        return point(obj[key], width, height)
    if key == "skeleton":
        return skeleton(obj[key], width, height)
    if key == "bitmask":
        return bitmask(obj[key])
    return None


def normalised_box(obj: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """Axis-aligned box in normalised coordinates, for the flat table (None for bitmasks and ranges)."""
    key = shape_key(obj)
    if key in ("boundingBox", "rotatableBoundingBox"):
        box = obj[key]
        return (float(box["x"]), float(box["y"]), float(box["w"]), float(box["h"]))
    if key in (None, "bitmask"):
        return None
    if key == "polygon" and not obj.get("polygon"):
        rings = [ring for poly in obj["polygons"] for ring in poly[:1]]
        points = [(ring[i], ring[i + 1]) for ring in rings for i in range(0, len(ring) - 1, 2)]
        return _bounds(points)
    geometry = to_coco(obj, 1, 1)
    return geometry.bbox if geometry else None
