"""COCO that common tools load: every annotation decodes with pycocotools, skeleton categories follow the
COCO keypoint spec, masks are not crowd regions by default, and video/DICOM frames are named and listed
the way readers expect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from encord_provider.exports.coco import CocoWriter, coco_categories
from encord_provider.exports.model import CocoOptions
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tests.unit.export_fixtures import (
    answer,
    every_shape,
    frames_row,
    image_row,
    labelled_object,
    rich_ontology,
    tags_classification,
    ticks,
)


def _coco(tmp_path: Path, rows: list[dict[str, Any]], options: CocoOptions | None = None) -> COCO:
    writer = CocoWriter(tmp_path / "coco.json", rich_ontology(), "test", options)
    for row in rows:
        writer.add_row(row)
    writer.close()
    return COCO(str(tmp_path / "coco.json"))


def _by_track(coco: COCO) -> dict[str, dict[str, Any]]:
    return {a["attributes"]["encord_track_uuid"]: a for a in coco.loadAnns(coco.getAnnIds())}


def test_skeleton_category_lists_template_keypoints_and_one_based_edges() -> None:
    categories = {c["name"]: c for c in coco_categories(rich_ontology())}
    assert categories["pose"]["keypoints"] == ["head", "hip", "foot"]
    assert categories["pose"]["skeleton"] == [[1, 2], [2, 3]]
    assert categories["pin"]["keypoints"] == ["keypoint"] and categories["pin"]["skeleton"] == []
    assert "quote" not in categories, "text objects have no pixels"


def test_skeleton_keypoints_follow_category_order_and_coco_visibility(tmp_path: Path) -> None:
    pose = _by_track(_coco(tmp_path, [image_row(every_shape())]))["o-pose"]
    # Label order is head, foot (outside the frame), hip (occluded); the category order is head, hip, foot.
    assert pose["keypoints"] == pytest.approx([32.0, 9.6, 2, 32.0, 28.8, 1, 0, 0, 0])
    assert pose["num_keypoints"] == 2, "only labelled keypoints (v > 0) count"
    assert pose["bbox"] == pytest.approx([32.0, 9.6, 0.0, 19.2])


def test_every_annotation_of_every_shape_decodes_with_ann_to_mask(tmp_path: Path) -> None:
    coco = _coco(tmp_path, [image_row(every_shape())])
    annotations = coco.loadAnns(coco.getAnnIds())
    assert len(annotations) == len(every_shape())
    for ann in annotations:
        mask = coco.annToMask(ann)
        assert mask.shape == (48, 64), ann["attributes"]["encord_track_uuid"]
        if isinstance(ann["segmentation"], list):
            assert all(len(ring) >= 6 and len(ring) % 2 == 0 for ring in ann["segmentation"])
    by_track = _by_track(coco)
    assert coco.annToMask(by_track["o-pin"]).sum() == 0 and by_track["o-pin"]["keypoints"] == [32.0, 24.0, 2]
    assert coco.annToMask(by_track["o-box"]).sum() > 0


def test_masks_are_not_crowd_regions_by_default(tmp_path: Path) -> None:
    by_track = _by_track(_coco(tmp_path, [image_row(every_shape())]))
    for track in ("o-sky", "o-hole"):
        assert by_track[track]["iscrowd"] == 0 and isinstance(by_track[track]["segmentation"], dict)
    hole = by_track["o-hole"]
    assert 0.8 * 64 * 0.8 * 48 * 0.8 < hole["area"] < 0.8 * 64 * 0.8 * 48, "the hole is cut out"
    multi = by_track["o-multi"]
    assert multi["iscrowd"] == 0 and len(multi["segmentation"]) == 2, "disjoint polygons stay polygons"


def test_cocoeval_counts_mask_ground_truth(tmp_path: Path) -> None:
    coco = _coco(tmp_path, [image_row(every_shape())])
    sky = _by_track(coco)["o-sky"]
    detections = coco.loadRes([{"image_id": sky["image_id"], "category_id": sky["category_id"],
                                "segmentation": sky["segmentation"], "score": 1.0}])  # fmt: skip
    evaluation = COCOeval(coco, detections, "segm")
    evaluation.params.catIds = [sky["category_id"]]
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0), "a crowd ground truth would be ignored (AP -1)"


def test_options_reproduce_encords_exporter(tmp_path: Path) -> None:
    options = CocoOptions(point_segmentation="encord", mask_iscrowd=True)
    by_track = _by_track(_coco(tmp_path, [image_row(every_shape())], options))
    assert by_track["o-pin"]["segmentation"] == [[32.0, 24.0]]
    assert by_track["o-pose"]["segmentation"] == []
    assert by_track["o-sky"]["iscrowd"] == 1 and by_track["o-hole"]["iscrowd"] == 1


def test_checklist_answers_are_lists_in_coco_attributes(tmp_path: Path) -> None:
    box, other_box, third_box = (
        labelled_object("car", "bounding_box", h, "boundingBox", {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2})
        for h in ("one", "two", "none")
    )
    answers = {
        "one": {"objectHash": "one", "classifications": [answer("damage", "att-damage", ticks("dent"))]},
        "two": {"objectHash": "two", "classifications": [
            answer("damage", "att-damage", ticks("dent", "scratch")),
            answer("colour", "att-colour", ticks("red")), answer("shade", "att-red-shade", "dark"),
            answer("plate", "att-plate", "AB-123"), answer("speed", "att-speed", 42.5)]},
    }  # fmt: skip
    by_track = _by_track(_coco(tmp_path, [image_row([box, other_box, third_box], answers)]))
    assert by_track["one"]["attributes"]["classifications"]["damage"] == ["dent"]
    assert by_track["two"]["attributes"]["classifications"] == {
        "damage": ["dent", "scratch"], "colour": "red", "colour/red/shade": "dark", "plate": "AB-123",
        "speed": 42.5, "moving": None,
    }  # fmt: skip
    assert by_track["none"]["attributes"]["classifications"] == {
        "damage": [],
        "colour": None,
        "plate": None,
        "speed": None,
        "moving": None,
    }


def test_dynamic_attributes_take_the_value_of_each_frame(tmp_path: Path) -> None:
    car = labelled_object(
        "car", "bounding_box", "car", "boundingBox", {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}
    )
    actions = {"car": {"objectHash": "car", "actions": [
        {**answer("moving", "att-moving", ticks("yes")), "dynamic": True, "range": [[0, 4]]},
        {**answer("moving", "att-moving", ticks("no")), "dynamic": True, "range": [[5, 9]]}]}}  # fmt: skip
    row = frames_row("video", "video/mp4", {2: [car], 7: [car], 12: [car]}, object_actions=actions)
    coco = _coco(tmp_path, [row])
    by_frame = {coco.loadImgs(a["image_id"])[0]["frame"]: a for a in coco.loadAnns(coco.getAnnIds())}
    assert {f: a["attributes"]["classifications"]["moving"] for f, a in by_frame.items()} == {
        2: "yes",
        7: "no",
        12: None,
    }


def test_classification_only_video_frames_are_images(tmp_path: Path) -> None:
    car = labelled_object(
        "car", "bounding_box", "car", "boundingBox", {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}
    )
    row = frames_row("video", "video/mp4", {3: [car]}, tags_classification("c1", [[5, 6]], "night"))
    coco = _coco(tmp_path, [row])
    names = sorted(image["file_name"] for image in coco.loadImgs(coco.getImgIds()))
    assert names == [f"videos/data-video/{frame}.jpg" for frame in (3, 5, 6)]
    assert len(coco.getAnnIds()) == 1


def test_dicom_frames_get_one_file_name_each(tmp_path: Path) -> None:
    car = labelled_object(
        "car", "bounding_box", "car", "boundingBox", {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}
    )
    coco = _coco(tmp_path, [frames_row("dicom", "application/dicom", {0: [car], 1: [car]})])
    names = [image["file_name"] for image in coco.loadImgs(coco.getImgIds())]
    assert names == ["dicom/data-dicom/0", "dicom/data-dicom/1"]


def test_empty_label_row_lists_its_image_without_annotations(tmp_path: Path) -> None:
    coco = _coco(tmp_path, [image_row([])])
    assert len(coco.getImgIds()) == 1 and coco.getAnnIds() == []
    doc = json.loads((tmp_path / "coco.json").read_text())
    assert doc["annotations"] == []
