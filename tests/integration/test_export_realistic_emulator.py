"""A realistic export end to end: labels of every shape and answer type made with the real SDK on an image
and a video in the emulator, exported with `SdkLabelSource`, then read the way users read them
(pycocotools `COCO()` + `annToMask` on every annotation, the Parquet table). Then the stage filter:
rows moved into and out of Complete without a label edit show up in the next incremental."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from encord.objects import Classification, LabelRowV2, Object, ObjectInstance
from encord.objects.attributes import ChecklistAttribute, RadioAttribute
from encord.objects.coordinates import (
    BitmaskCoordinates,
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    PolylineCoordinates,
    RotatableBoundingBoxCoordinates,
    SkeletonCoordinate,
    SkeletonCoordinates,
)
from encord.objects.frames import Range
from encord.project import Project
from encord_emulator.testing import EmulatorProcess
from encord_provider.exports.model import ExportFilters
from encord_provider.exports.run import ExportSpec, export_labels
from encord_provider.exports.source import SdkLabelSource
from encord_provider.storage.local import LocalStore
from pycocotools.coco import COCO

from tests.emulator.test_projects_helpers import project_over_items, register_image_and_video

WIDTH, HEIGHT = 80, 60
ONTOLOGY = {
    "objects": [
        {"name": "car", "shape": "bounding_box", "attributes": [
            {"name": "damage", "type": "checklist", "options": ["dent", "scratch"]},
            {"name": "colour", "type": "radio", "options": [
                {"label": "red", "attributes": [{"name": "shade", "type": "text"}]}, "blue"]}]},
        {"name": "sign", "shape": "rotatable_bounding_box"},
        {"name": "road", "shape": "polygon"},
        {"name": "lane", "shape": "polyline"},
        {"name": "pin", "shape": "point"},
        {"name": "pose", "shape": "skeleton", "keypoints": ["head", "hip", "foot"],
         "edges": [["head", "hip"], ["hip", "foot"]]},
        {"name": "sky", "shape": "bitmask"},
    ],
    "classifications": [{"name": "tags", "type": "checklist", "options": ["night", "blurry"]}],
}  # fmt: skip


@pytest.fixture
def project(encord_emulator: EmulatorProcess, moto_endpoint: str) -> Project:
    client = encord_emulator.client()
    items = register_image_and_video(client, encord_emulator, moto_endpoint, WIDTH, HEIGHT)
    return project_over_items(client, encord_emulator, list(items.values()), ONTOLOGY)


def _instance(project: Project, name: str) -> ObjectInstance:
    return project.ontology_structure.get_child_by_title(name, type_=Object).create_instance()


def _label_image(project: Project, row: LabelRowV2) -> None:
    def add(name: str, coordinates: Any) -> ObjectInstance:
        instance = _instance(project, name)
        instance.set_for_frames(coordinates, frames=0)
        row.add_object_instance(instance)
        return instance

    car_class = project.ontology_structure.get_child_by_title("car", type_=Object)
    damage = car_class.get_child_by_title("damage", type_=ChecklistAttribute)
    colour = car_class.get_child_by_title("colour", type_=RadioAttribute)
    for ticks in ([], ["dent"], ["dent", "scratch"]):
        car = add("car", BoundingBoxCoordinates(height=0.2, width=0.2, top_left_x=0.1, top_left_y=0.1))
        car.set_answer([damage.get_child_by_title(t) for t in ticks], attribute=damage)
    car.set_answer(colour.get_child_by_title("red"), attribute=colour)
    add(
        "sign",
        RotatableBoundingBoxCoordinates(height=0.1, width=0.2, top_left_x=0.5, top_left_y=0.5, theta=30),
    )
    add(
        "road",
        PolygonCoordinates([PointCoordinate(0.1, 0.6), PointCoordinate(0.5, 0.6), PointCoordinate(0.3, 0.9)]),
    )
    square = lambda x, y, s: [x, y, x + s, y, x + s, y + s, x, y + s]  # noqa: E731
    add("road", PolygonCoordinates.from_polygons_list([[square(0.1, 0.1, 0.4), square(0.2, 0.2, 0.1)],
                                                       [square(0.7, 0.7, 0.2)]]))  # fmt: skip
    add("lane", PolylineCoordinates([PointCoordinate(0.2, 0.2), PointCoordinate(0.8, 0.2)]))
    add("pin", PointCoordinate(0.5, 0.5))
    template = project.ontology_structure.skeleton_templates["pose"]
    nodes = [SkeletonCoordinate(x=0.4 + 0.1 * i, y=0.3, name=n.name, feature_hash=n.feature_hash)
             for i, n in enumerate(template.skeleton.values())]  # fmt: skip
    add("pose", SkeletonCoordinates(values=nodes, name="pose"))
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[:10, :20] = True
    add("sky", BitmaskCoordinates(mask))


def _label_video(project: Project, row: LabelRowV2) -> None:
    car = _instance(project, "car")
    car.set_for_frames(
        BoundingBoxCoordinates(height=0.2, width=0.2, top_left_x=0.1, top_left_y=0.1), frames=[0, 5]
    )
    row.add_object_instance(car)
    tags = project.ontology_structure.get_child_by_title("tags", type_=Classification).create_instance()
    tags.set_for_frames(Range(10, 12))
    checklist = tags.ontology_item.attributes[0]
    tags.set_answer([checklist.get_child_by_title("night")], attribute=checklist)
    row.add_classification_instance(tags)


def _label_everything(project: Project) -> dict[str, LabelRowV2]:
    rows = {row.data_title: row for row in project.list_label_rows_v2()}
    with project.create_bundle() as bundle:
        for row in rows.values():
            row.initialise_labels(bundle=bundle)
    _label_image(project, rows["street.png"])
    _label_video(project, rows["clip.mp4"])
    with project.create_bundle() as bundle:
        for row in rows.values():
            row.save(bundle=bundle)
    return rows


def _spec(project: Project, run: str, **kw: Any) -> ExportSpec:
    return ExportSpec(project="real", project_hash=project.project_hash, base_prefix="labels",
                      formats=("json", "coco", "parquet"), run_key=run, **kw)  # fmt: skip


def test_every_annotation_of_a_realistic_export_loads_in_pycocotools(
    project: Project, tmp_path: Path
) -> None:
    _label_everything(project)
    store = LocalStore(str(tmp_path / "warehouse"))
    result = export_labels(store, SdkLabelSource(project), _spec(project, "r1"))
    assert result.status == "written" and result.counts["label_rows"] == 2
    folder = tmp_path / "warehouse" / "labels" / "real" / str(result.version)
    coco = COCO(str(folder / "coco.json"))
    annotations = coco.loadAnns(coco.getAnnIds())
    assert len(annotations) == 3 + 7 + 2, "image: 3 cars + 7 other shapes; video: a car on two frames"
    for ann in annotations:
        image = coco.loadImgs(ann["image_id"])[0]
        assert coco.annToMask(ann).shape == (image["height"], image["width"])
    names = sorted(
        i["file_name"] for i in coco.loadImgs(coco.getImgIds()) if i["file_name"].startswith("videos/")
    )
    assert [n.rsplit("/", 1)[1] for n in names] == ["0.jpg", "10.jpg", "11.jpg", "12.jpg", "5.jpg"]
    pose = next(c for c in coco.loadCats(coco.getCatIds()) if c["name"] == "pose")
    assert pose["keypoints"] == ["head", "hip", "foot"] and pose["skeleton"] == [[1, 2], [2, 3]]
    crowd = [a for a in annotations if a["iscrowd"]]
    assert crowd == [], "masks are not crowd regions"
    damage = sorted(json.dumps(a["attributes"]["classifications"]["damage"]) for a in annotations
                    if "damage" in a["attributes"]["classifications"])  # fmt: skip
    assert damage.count("[]") >= 1 and '["dent"]' in damage and '["dent", "scratch"]' in damage
    table = pq.read_table(folder / "labels.parquet").to_pylist()
    tags = [json.loads(r["attributes"]) for r in table if r["kind"] == "classification"]
    assert tags == [{"tags": ["night"]}]
    assert {(r["frame"], r["frame_end"]) for r in table if r["kind"] == "classification"} == {(10, 12)}


def test_rows_entering_and_leaving_the_stage_without_edits(project: Project, tmp_path: Path) -> None:
    rows = _label_everything(project)
    store = LocalStore(str(tmp_path / "warehouse"))
    complete = ExportFilters(stage="Complete")
    first = export_labels(store, SdkLabelSource(project), _spec(project, "s1", filters=complete))
    assert first.status == "written" and first.counts["label_rows"] == 0
    rows["street.png"].workflow_complete()  # moves the task; the labels are not edited
    second = export_labels(store, SdkLabelSource(project), _spec(project, "s2", filters=complete))
    assert second.kind == "incremental" and second.counts["label_rows"] == 1
    assert second.counts["rows_entered"] == 1
    rows["street.png"].workflow_reopen()
    third = export_labels(store, SdkLabelSource(project), _spec(project, "s3", filters=complete))
    assert third.status == "written" and third.counts["rows_left"] == 1 and third.counts["label_rows"] == 0
    left = (tmp_path / "warehouse" / "labels" / "real" / str(third.version) / "left_rows.csv").read_text()
    assert [r["label_hash"] for r in csv.DictReader(io.StringIO(left))] == [rows["street.png"].label_hash]
