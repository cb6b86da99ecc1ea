"""COCO writer: categories from the ontology, every shape, RLE masks, streaming output that pycocotools loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from encord_provider.exports.coco import CocoWriter, coco_categories
from encord_provider.exports.geometry import bitmask, polygon
from encord_provider.exports.model import ExportError
from encord_provider.exports.synthetic import FEATURES, HEIGHT, WIDTH, synthetic_label_row, synthetic_ontology
from pycocotools import mask as cocomask
from pycocotools.coco import COCO


def _write(tmp_path: Path, rows: list[dict[str, Any]]) -> tuple[COCO, CocoWriter]:
    writer = CocoWriter(tmp_path / "coco.json", synthetic_ontology(), "test")
    for row in rows:
        writer.add_row(row)
    writer.close()
    return COCO(str(tmp_path / "coco.json")), writer


def test_categories_follow_ontology_order() -> None:
    categories = coco_categories(synthetic_ontology())
    assert [c["id"] for c in categories] == [1, 2, 3, 4, 5]
    assert [c["supercategory"] for c in categories] == [
        "bounding_box",
        "polygon",
        "polyline",
        "point",
        "bitmask",
    ]
    assert categories[3]["keypoints"] == ["keypoint"]


def test_coco_file_loads_with_expected_counts(tmp_path: Path) -> None:
    coco, writer = _write(tmp_path, [synthetic_label_row(i) for i in range(7)])
    assert len(coco.getImgIds()) == 7
    assert len(coco.getAnnIds()) == 7 * 5
    assert len(coco.getAnnIds(catIds=[5])) == 7
    assert writer.counts == {
        "coco_images": 7,
        "coco_annotations": 35,
        "coco_categories": 5,
        "coco_skipped_frames": 0,
    }
    assert not list(tmp_path.glob("*.part")), "spool files must be removed"
    image = coco.loadImgs([1])[0]
    assert (image["width"], image["height"]) == (WIDTH, HEIGHT)
    assert image["file_name"].startswith("images/") and image["file_name"].endswith(".jpg")


def test_box_polygon_polyline_point_in_pixels(tmp_path: Path) -> None:
    coco, _ = _write(tmp_path, [synthetic_label_row(0)])
    by_cat = {a["category_id"]: a for a in coco.loadAnns(coco.getAnnIds(imgIds=[1]))}
    assert by_cat[1]["bbox"] == pytest.approx([0.1 * WIDTH, 0.2 * HEIGHT, 0.3 * WIDTH, 0.25 * HEIGHT])
    assert by_cat[1]["area"] == pytest.approx(0.3 * WIDTH * 0.25 * HEIGHT)
    assert by_cat[1]["attributes"]["classifications"] == {"colour": "red"}
    # triangle (0.1,0.6) (0.5,0.6) (0.3,0.9): base 0.4*W, height 0.3*H
    assert by_cat[2]["area"] == pytest.approx(0.5 * 0.4 * WIDTH * 0.3 * HEIGHT)
    assert by_cat[2]["segmentation"][0][:2] == pytest.approx([0.1 * WIDTH, 0.6 * HEIGHT])
    assert by_cat[3]["area"] == 0.0 and len(by_cat[3]["segmentation"][0]) == 2 * (3 + 1)
    assert (
        by_cat[4]["keypoints"] == pytest.approx([0.5 * WIDTH, 0.5 * HEIGHT, 2])
        and by_cat[4]["num_keypoints"] == 1
    )


def test_bitmask_is_transposed_into_coco_rle(tmp_path: Path) -> None:
    coco, _ = _write(tmp_path, [synthetic_label_row(0)])
    ann = coco.loadAnns(coco.getAnnIds(catIds=[5]))[0]
    assert ann["iscrowd"] == 0 and isinstance(ann["segmentation"]["counts"], str)
    mask = coco.annToMask(ann)
    assert mask.shape == (HEIGHT, WIDTH)
    assert mask[: HEIGHT // 2, : WIDTH // 2].all() and mask.sum() == (HEIGHT // 2) * (WIDTH // 2)
    assert ann["bbox"] == [0.0, 0.0, WIDTH / 2, HEIGHT / 2]


def test_bitmask_with_non_square_region() -> None:
    from encord.common.bitmask_operations.bitmask_operations import serialise_bitmask

    mask = np.zeros((5, 9), dtype=bool)
    mask[1:3, 6:9] = True  # a 2x3 block at the right edge
    geometry = bitmask(
        {"top": 0, "left": 0, "width": 9, "height": 5, "rleString": serialise_bitmask(mask.tobytes())}
    )
    decoded = cocomask.decode(
        {"size": geometry.segmentation["size"], "counts": geometry.segmentation["counts"].encode()}
    )  # type: ignore[index]
    assert (decoded.astype(bool) == mask).all()
    assert geometry.area == 6 and geometry.bbox == (6.0, 1.0, 3.0, 2.0)


def test_polygon_with_hole_becomes_rle() -> None:
    outer = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    hole = [0.25, 0.25, 0.75, 0.25, 0.75, 0.75, 0.25, 0.75]
    geometry = polygon({"polygons": [[outer, hole]]}, 40, 40)
    assert geometry.iscrowd == 0 and isinstance(geometry.segmentation, dict)
    assert 40 * 40 - 22 * 22 <= geometry.area <= 40 * 40 - 18 * 18
    simple = polygon({"polygons": [[outer]]}, 40, 40)
    assert simple.iscrowd == 0 and simple.area == pytest.approx(1600)


def test_video_frames_become_images(tmp_path: Path) -> None:
    row = synthetic_label_row(1)
    unit = next(iter(row["data_units"].values()))
    objects = unit["labels"]["objects"][:1]
    unit.update(data_type="video/mp4", labels={"0": {"objects": objects}, "12": {"objects": objects}})
    row["data_type"] = "video"
    coco, _ = _write(tmp_path, [row])
    names = sorted(i["file_name"] for i in coco.loadImgs(coco.getImgIds()))
    assert names == [f"videos/{unit['data_hash']}/0.jpg", f"videos/{unit['data_hash']}/12.jpg"]
    tracks = {a["attributes"]["track_id"] for a in coco.loadAnns(coco.getAnnIds())}
    assert len(tracks) == 1, "the same object across frames keeps one track id"


def test_rows_without_size_or_pixels_are_skipped(tmp_path: Path) -> None:
    no_size = synthetic_label_row(2)
    next(iter(no_size["data_units"].values())).update(width=None, height=None)
    text = synthetic_label_row(3)
    next(iter(text["data_units"].values())).update(data_type="text/plain")
    coco, writer = _write(tmp_path, [no_size, text, synthetic_label_row(4)])
    assert len(coco.getImgIds()) == 1 and writer.skipped_frames == 1


def test_unknown_feature_hash_names_row_and_object(tmp_path: Path) -> None:
    row = synthetic_label_row(5)
    obj = next(iter(row["data_units"].values()))["labels"]["objects"][0]
    obj["featureHash"] = "nope1234"
    writer = CocoWriter(tmp_path / "coco.json", synthetic_ontology())
    with pytest.raises(ExportError, match=f"{row['label_hash']}.*{obj['objectHash']}.*nope1234"):
        writer.add_row(row)


def test_empty_export_is_valid_json(tmp_path: Path) -> None:
    _write(tmp_path, [])
    doc = json.loads((tmp_path / "coco.json").read_text())
    assert doc["images"] == [] and doc["annotations"] == [] and len(doc["categories"]) == 5
    assert FEATURES["box"] == doc["categories"][0]["feature_hash"]
