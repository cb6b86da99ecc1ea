"""`exports.normalise` against the SDK itself: random label rows of every shape and attribute kind (images
and videos, objects over frames, nested and dynamic attributes, classifications on ranges, empty rows) are
made and saved with the real SDK in the emulator; each row's server dict, normalised, must equal the SDK's
`from_labels_dict` + `to_encord_dict()` of the same dict byte for byte (key order included), and a whole
export must write the same files with the normaliser as through the SDK alone."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from encord.objects import Classification, LabelRowV2, Object, ObjectInstance
from encord.objects.attributes import Attribute, ChecklistAttribute, RadioAttribute, TextAttribute
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
from encord_provider.encord_api.label_rows import LabelRowQuery, RowListing, label_row_dicts
from encord_provider.exports.normalise import LabelRowNormaliser, Unsupported
from encord_provider.exports.run import ExportSpec, export_labels
from encord_provider.exports.source import SdkLabelSource
from encord_provider.storage.local import LocalStore

from tests.emulator.test_projects_helpers import project_over_items, register_image_and_video

WIDTH, HEIGHT = 80, 60
VIDEO_FRAMES = 20  # the helper's clip: 2 s at 10 fps
PROJECTS = 4  # rounds of random labels over the same six items
ONTOLOGY = {
    "objects": [
        {"name": "car", "shape": "bounding_box", "attributes": [
            {"name": "damage", "type": "checklist", "options": ["dent", "scratch", "rust"]},
            {"name": "colour", "type": "radio", "options": [
                {"label": "red", "attributes": [{"name": "shade", "type": "text"}]}, "blue"]},
            {"name": "plate", "type": "text"}]},
        {"name": "sign", "shape": "rotatable_bounding_box"},
        {"name": "road", "shape": "polygon"},
        {"name": "lane", "shape": "polyline"},
        {"name": "pin", "shape": "point", "attributes": [
            {"name": "kind", "type": "radio", "options": ["a", {"label": "b", "attributes": [
                {"name": "why", "type": "checklist", "options": ["x", "y"]}]}]}]},
        {"name": "pose", "shape": "skeleton", "keypoints": ["head", "hip", "foot"],
         "edges": [["head", "hip"], ["hip", "foot"]]},
        {"name": "sky", "shape": "bitmask"},
        {"name": "track", "shape": "bounding_box", "attributes": [
            {"name": "moving", "type": "radio", "dynamic": True, "options": ["yes", "no"]}]},
    ],
    "classifications": [
        {"name": "tags", "type": "checklist", "options": ["night", "blurry"]},
        {"name": "weather", "type": "radio", "options": [
            {"label": "rain", "attributes": [{"name": "heavy", "type": "checklist", "options": ["yes"]}]}, "sun"]},
        {"name": "note", "type": "text"},
    ],
}  # fmt: skip
SHAPES = ("car", "sign", "road", "lane", "pin", "pose", "sky", "track")


def _coordinates(project: Project, name: str, rng: random.Random) -> Any:
    x, y = rng.uniform(0, 0.5), rng.uniform(0, 0.5)
    if name in ("car", "track"):
        return BoundingBoxCoordinates(height=0.2, width=0.3, top_left_x=x, top_left_y=y)
    if name == "sign":
        return RotatableBoundingBoxCoordinates(height=0.1, width=0.2, top_left_x=x, top_left_y=y,
                                               theta=rng.uniform(0, 90))  # fmt: skip
    points = [
        PointCoordinate(x + rng.uniform(0, 0.4), y + rng.uniform(0, 0.4)) for _ in range(rng.randint(3, 6))
    ]
    if name == "road" and rng.random() < 0.5:
        return PolygonCoordinates(points)
    if name == "road":  # several polygons, the first with a hole
        ring = lambda x, y, s: [x, y, x + s, y, x + s, y + s, x, y + s]  # noqa: E731
        return PolygonCoordinates.from_polygons_list(
            [[ring(x, y, 0.4), ring(x + 0.1, y + 0.1, 0.1)], [ring(0.7, 0.7, 0.2)]]
        )
    if name == "lane":
        return PolylineCoordinates(points)
    if name == "pin":
        return points[0]
    if name == "pose":
        template = project.ontology_structure.skeleton_templates["pose"]
        nodes = [SkeletonCoordinate(x=rng.uniform(0, 1), y=rng.uniform(0, 1), name=n.name, feature_hash=n.feature_hash)
                 for n in template.skeleton.values()]  # fmt: skip
        return SkeletonCoordinates(values=nodes, name="pose")
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[rng.randint(0, 30) : rng.randint(31, 60), rng.randint(0, 40) : rng.randint(41, 80)] = True
    return BitmaskCoordinates(mask)


def _answer(instance: Any, attribute: Attribute[Any], rng: random.Random, **frames: Any) -> None:
    """A random answer to `attribute` (and to the attributes nested under the option picked)."""
    if isinstance(attribute, TextAttribute):
        instance.set_answer(rng.choice(["", "free text", "ünïcode ✓"]), attribute=attribute, **frames)
    elif isinstance(attribute, ChecklistAttribute):
        instance.set_answer(
            [o for o in attribute.options if rng.random() < 0.5], attribute=attribute, **frames
        )
    elif isinstance(attribute, RadioAttribute):
        option = rng.choice(attribute.options)
        instance.set_answer(option, attribute=attribute, **frames)
        for nested in option.attributes:
            if rng.random() < 0.7:
                _answer(instance, nested, rng)


def _frames(video: bool, rng: random.Random) -> list[int]:
    return sorted(rng.sample(range(VIDEO_FRAMES), rng.randint(1, 5))) if video else [0]


def _add_object(project: Project, row: LabelRowV2, name: str, video: bool, rng: random.Random) -> None:
    ontology_object = project.ontology_structure.get_child_by_title(name, type_=Object)
    instance: ObjectInstance = ontology_object.create_instance()
    for frame in _frames(video, rng):
        instance.set_for_frames(_coordinates(project, name, rng), frames=frame,
                                confidence=rng.choice([1.0, 0.5]), manual_annotation=rng.random() < 0.8,
                                created_by=rng.choice([None, "a@example.com"]),
                                last_edited_by=rng.choice([None, "b@example.com"]))  # fmt: skip
    for attribute in ontology_object.attributes:
        if rng.random() < 0.25:
            continue  # unanswered
        if attribute.dynamic:
            first = min(instance.get_annotation_frames())
            _answer(instance, attribute, rng, frames=first)
        else:
            _answer(instance, attribute, rng)
    row.add_object_instance(instance)


def _add_classification(
    project: Project, row: LabelRowV2, name: str, video: bool, rng: random.Random
) -> None:
    ontology = project.ontology_structure.get_child_by_title(name, type_=Classification)
    instance = ontology.create_instance()
    start = rng.randint(0, VIDEO_FRAMES - 3) if video else 0
    frames = Range(start, start + rng.randint(0, 2)) if video else 0
    instance.set_for_frames(frames, confidence=rng.choice([1.0, 0.25]), manual_annotation=rng.random() < 0.5)
    _answer(instance, ontology.attributes[0], rng)
    row.add_classification_instance(instance)


def _label_randomly(project: Project, rng: random.Random) -> None:
    rows = project.list_label_rows_v2()
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    for row in rows:
        video = row.data_title.endswith(".mp4")
        if rng.random() < 0.15:
            continue  # an empty (but initialised and saved) row
        for name in rng.choices(SHAPES, k=rng.randint(0, 7)):
            _add_object(project, row, name, video, rng)
        for name in rng.sample(["tags", "weather", "note"], rng.randint(0, 3)):
            _add_classification(project, row, name, video, rng)
    with project.create_bundle() as bundle:
        for row in rows:
            row.save(bundle=bundle)


@pytest.fixture
def projects(encord_emulator: EmulatorProcess, moto_endpoint: str) -> list[Project]:
    """PROJECTS projects over three images and three videos, each labelled with other random labels."""
    client = encord_emulator.client()
    items = [u for _ in range(3) for u in register_image_and_video(client, encord_emulator, moto_endpoint,
                                                                   WIDTH, HEIGHT).values()]  # fmt: skip
    made = []
    for seed in range(PROJECTS):
        project = project_over_items(client, encord_emulator, items, ONTOLOGY)
        _label_randomly(project, random.Random(seed))
        made.append(client.get_project(project.project_hash))
    return made


def _as_sdk_renders(project: Project, raw: dict[str, Any]) -> dict[str, Any]:
    row = project.list_label_rows_v2(label_hashes=[raw["label_hash"]])[0]
    row.from_labels_dict(json.loads(json.dumps(raw)))
    rendered: dict[str, Any] = row.to_encord_dict()
    return rendered


def test_normalised_rows_are_exactly_what_the_sdk_renders(projects: list[Project]) -> None:
    ways = {"normalised": 0, "declined": 0}
    for project in projects:
        listed = {row.label_hash: row for row in project.list_label_rows_v2() if row.label_hash}
        assert listed, "no label rows were made"
        raws = label_row_dicts(project, list(listed), LabelRowQuery())
        normaliser = LabelRowNormaliser(project.ontology_structure)
        for raw in raws:
            expected = _as_sdk_renders(project, raw)
            try:
                got = normaliser.normalise(raw, RowListing.of(listed[raw["label_hash"]]))
            except Unsupported:
                ways["declined"] += 1
                assert _uses_dynamic_attributes(raw, project), f"declined a plain row: {raw['label_hash']}"
                continue
            ways["normalised"] += 1
            assert json.dumps(got) == json.dumps(expected), raw["label_hash"]
    # Both ways were exercised: most rows normalised, the dynamic-attribute ones rendered by the SDK.
    assert ways["normalised"] >= 8 and ways["declined"] >= 1, ways


def _uses_dynamic_attributes(raw: dict[str, Any], project: Project) -> bool:
    track = project.ontology_structure.get_child_by_title("track", type_=Object).feature_node_hash
    units = raw["data_units"].values()
    frames = [u["labels"].get("objects", []) if "objects" in u["labels"] else
              [o for f in u["labels"].values() for o in f["objects"]] for u in units]  # fmt: skip
    return any(o["featureHash"] == track for objects in frames for o in objects) or bool(
        raw["object_actions"]
    )


def test_an_export_writes_the_same_bytes_with_and_without_the_normaliser(
    projects: list[Project], tmp_path: Path
) -> None:
    project = projects[-1]
    written: dict[bool, dict[str, bytes]] = {}
    for normalise in (False, True):
        spec = ExportSpec(project="p", project_hash=project.project_hash, base_prefix=f"n{int(normalise)}",
                          formats=("json", "coco", "parquet"))  # fmt: skip
        source = SdkLabelSource(project, bundle_size=4, workers=2, normalise=normalise)
        result = export_labels(LocalStore(tmp_path), source, spec, now=datetime(2026, 3, 1, tzinfo=UTC))
        folder = tmp_path / f"n{int(normalise)}" / "p" / str(result.version)
        written[normalise] = {
            p.name: p.read_bytes() for p in folder.iterdir() if p.name not in ("manifest.json", "_SUCCESS")
        }  # both name the counts
        if normalise:
            counts = result.counts
            assert counts["rows_normalised"] >= 1, counts
            assert counts["rows_normalised"] + counts.get("rows_rendered_by_sdk", 0) == counts["label_rows"]
    assert written[True].keys() == written[False].keys() and "coco.json" in written[True]
    for name, body in written[False].items():
        assert written[True][name] == body, name
