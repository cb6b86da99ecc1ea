"""Encord object geometry (normalised 0..1 coordinates, Encord RLE) -> COCO pixel geometry.

Encord bitmasks are RLE strings of the row-major mask (same character encoding as COCO's compressed
counts); COCO wants the column-major mask, so masks are decoded, transposed and re-encoded.

Every segmentation written here loads with pycocotools' `annToMask` (and so in FiftyOne and detectron2):

- a polygon always has at least 3 points (6 numbers). pycocotools reads a 4-number "polygon" as a box and
  raises on 2 numbers, so short polylines and polygons repeat their last point;
- points and skeletons have no outline: they get a zero-area triangle at the point (an empty mask) unless
  `point_segmentation="encord"` asks for Encord's own `[[x, y]]`;
- masks (bitmasks, polygons with holes) are RLE with `iscrowd=0` unless `mask_iscrowd` is set:
  COCOeval ignores crowd regions and detectron2 drops them when training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pycocotools import mask as cocomask

from encord_provider.exports.model import CocoOptions

Point = tuple[float, float]
SHAPE_KEYS = ("boundingBox", "rotatableBoundingBox", "polygon", "polyline", "point", "skeleton", "bitmask")
# Encord skeleton node visibility -> COCO v (0 not labelled, 1 labelled but not visible, 2 visible).
_VISIBILITY = {"invisible": 0, "occluded": 1, "selfOccluded": 1, "visible": 2}
MIN_POLYGON_POINTS = 3
DEFAULT_OPTIONS = CocoOptions()


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


def _rle_geometry(rle: dict[str, Any], options: CocoOptions) -> CocoGeometry:
    x, y, w, h = (float(v) for v in cocomask.toBbox(rle))
    return CocoGeometry(
        bbox=(x, y, w, h),
        area=float(cocomask.area(rle)),
        segmentation=_rle_json(rle),
        iscrowd=1 if options.mask_iscrowd else 0,
    )


def polygon_ring(points: Sequence[Point]) -> list[float]:
    """A COCO polygon of `points`, padded to 3 points (pycocotools reads 4 numbers as a box)."""
    padded = list(points)
    while padded and len(padded) < MIN_POLYGON_POINTS:
        padded.append(padded[-1])
    return _flat(padded)


def _zero_area_outline(x: float, y: float, options: CocoOptions) -> list[list[float]]:
    """The segmentation of a shape without an outline (point, skeleton): an empty mask at (x, y)."""
    if options.point_segmentation == "encord":
        return [[x, y]]
    return [polygon_ring([(x, y)])]


def bounding_box(box: dict[str, Any], width: int, height: int) -> CocoGeometry:
    x, y = float(box["x"]) * width, float(box["y"]) * height
    w, h = float(box["w"]) * width, float(box["h"]) * height
    return CocoGeometry(
        bbox=(x, y, w, h), area=w * h, segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]
    )


def rotatable_box(box: dict[str, Any], width: int, height: int) -> CocoGeometry:
    """The unrotated box, with `theta` in `rotation` (as Encord's exporter)."""
    geometry = bounding_box(box, width, height)
    geometry.rotation = float(box.get("theta", 0.0))
    return geometry


def _pixel_ring(ring: list[float], width: int, height: int) -> list[float]:
    return [c * (width if i % 2 == 0 else height) for i, c in enumerate(ring[: len(ring) // 2 * 2])]


def _polygons_to_rle(polygons: list[list[list[float]]], width: int, height: int) -> dict[str, Any]:
    """Rasterise [[ring, *holes], ...] (flat normalised coords) into one COCO RLE."""
    canvas = np.zeros((height, width), dtype=np.uint8, order="F")
    for polygon in polygons:
        for ring_index, ring in enumerate(polygon):
            pixel_ring = _pixel_ring(ring, width, height)
            if len(pixel_ring) < 2 * MIN_POLYGON_POINTS:
                continue
            ring_mask = cocomask.decode(cocomask.merge(cocomask.frPyObjects([pixel_ring], height, width)))
            canvas = np.where(ring_mask > 0, 0 if ring_index else 1, canvas).astype(np.uint8)
    return cocomask.encode(np.asfortranarray(canvas))


def _several_polygons(polygons: list[list[list[float]]], width: int, height: int) -> CocoGeometry:
    """Disjoint polygons without holes: COCO's own multi-polygon form (a list of rings)."""
    rings = [
        polygon_ring(_pairs(_pixel_ring(poly[0], width, height))) for poly in polygons if poly and poly[0]
    ]
    rings = [ring for ring in rings if ring]
    if not rings:
        return CocoGeometry(bbox=(0.0, 0.0, 0.0, 0.0), area=0.0, segmentation=[polygon_ring([(0.0, 0.0)])])
    rle = cocomask.merge(cocomask.frPyObjects(rings, height, width))
    points = [p for ring in rings for p in _pairs(ring)]
    return CocoGeometry(bbox=_bounds(points), area=float(cocomask.area(rle)), segmentation=rings)


def _pairs(flat: list[float]) -> list[Point]:
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat) - 1, 2)]


def polygon(
    obj: dict[str, Any], width: int, height: int, options: CocoOptions = DEFAULT_OPTIONS
) -> CocoGeometry:
    polygons = obj.get("polygons") or []
    if any(len(poly) > 1 for poly in polygons):  # holes: only a mask can hold them
        return _rle_geometry(_polygons_to_rle(polygons, width, height), options)
    if len(polygons) > 1:
        return _several_polygons(polygons, width, height)
    if obj.get("polygon"):
        points = _scaled(_ordered_points(obj["polygon"]), width, height)
    else:
        points = _pairs(_pixel_ring(polygons[0][0], width, height))
    return CocoGeometry(bbox=_bounds(points), area=_shoelace(points), segmentation=[polygon_ring(points)])


def polyline(raw: dict[str, Any] | list[dict[str, Any]], width: int, height: int) -> CocoGeometry:
    points = _scaled(_ordered_points(raw), width, height)
    # COCO has no polyline: walk back along the line so it becomes an area-less polygon (as Encord's exporter).
    walk = points + points[-2:0:-1]
    return CocoGeometry(bbox=_bounds(points), area=0.0, segmentation=[polygon_ring(walk)])


def point(
    raw: dict[str, Any], width: int, height: int, options: CocoOptions = DEFAULT_OPTIONS
) -> CocoGeometry:
    x, y = _scaled([_ordered_points(raw)[0]], width, height)[0]
    return CocoGeometry(
        bbox=(x, y, 0.0, 0.0),
        area=0.0,
        segmentation=_zero_area_outline(x, y, options),
        keypoints=[x, y, 2],
        num_keypoints=1,
    )


def _node_slot(node: dict[str, Any], index: int, keypoints: Sequence[tuple[str, str | None]]) -> int:
    """Where a labelled skeleton node goes in the category's keypoint list (by feature hash, then name)."""
    for slot, (_, feature_hash) in enumerate(keypoints):
        if feature_hash and node.get("featureHash") == feature_hash:
            return slot
    for slot, (name, _) in enumerate(keypoints):
        if node.get("name") == name:
            return slot
    return index


def skeleton(
    raw: dict[str, Any] | list[dict[str, Any]],
    width: int,
    height: int,
    keypoints: Sequence[tuple[str, str | None]] = (),
    options: CocoOptions = DEFAULT_OPTIONS,
) -> CocoGeometry:
    """Keypoints in the order of the category's `keypoints` (the ontology template's nodes).

    A node outside the frame (`invisible`) is "not labelled" (v=0, x=y=0) as the COCO spec says, and
    `num_keypoints` counts the labelled ones. `area` is the keypoints' box area (OKS needs a scale).
    """
    nodes = _ordered_points(raw)
    slots = max(len(keypoints), len(nodes))
    flat: list[float] = [0.0] * (3 * slots)
    labelled: list[Point] = []
    for index, node in enumerate(nodes):
        slot = _node_slot(node, index, keypoints)
        if slot >= slots:
            continue
        visibility = _VISIBILITY.get(str(node.get("visibility")), 2)
        if visibility == 0:
            continue
        x, y = float(node["x"]) * width, float(node["y"]) * height
        flat[3 * slot : 3 * slot + 3] = [x, y, visibility]
        labelled.append((x, y))
    bbox = _bounds(labelled) if labelled else (0.0, 0.0, 0.0, 0.0)
    outline = [] if options.point_segmentation == "encord" else _zero_area_outline(bbox[0], bbox[1], options)
    return CocoGeometry(
        bbox=bbox,
        area=bbox[2] * bbox[3],
        segmentation=outline,
        keypoints=flat,
        num_keypoints=len(labelled),
    )


def bitmask(raw: dict[str, Any], options: CocoOptions = DEFAULT_OPTIONS) -> CocoGeometry:
    width, height = int(raw["width"]), int(raw["height"])
    # Decoding the row-major string as if column-major gives the transposed mask.
    transposed = cocomask.decode({"size": [width, height], "counts": raw["rleString"].encode("ascii")})
    top, left = int(raw.get("top") or 0), int(raw.get("left") or 0)
    mask = transposed.T
    if top or left:
        mask = np.pad(mask, ((top, 0), (left, 0)))
    return _rle_geometry(cocomask.encode(np.asfortranarray(mask)), options)


def to_coco(
    obj: dict[str, Any],
    width: int,
    height: int,
    options: CocoOptions = DEFAULT_OPTIONS,
    keypoints: Sequence[tuple[str, str | None]] = (),
) -> CocoGeometry | None:
    """COCO geometry of one Encord object; None for shapes COCO cannot hold (audio/text ranges).

    `keypoints` is the (name, feature hash) list of a skeleton object's category.
    """
    key = shape_key(obj)
    if key == "boundingBox":
        return bounding_box(obj[key], width, height)
    if key == "rotatableBoundingBox":
        return rotatable_box(obj[key], width, height)
    if key == "polygon":
        return polygon(obj, width, height, options)
    if key == "polyline":
        return polyline(obj[key], width, height)
    if key == "point":
        return point(obj[key], width, height, options)
    if key == "skeleton":
        return skeleton(obj[key], width, height, keypoints, options)
    if key == "bitmask":
        return bitmask(obj[key], options)
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
