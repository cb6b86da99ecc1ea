"""Label rows through the real SDK: list/filter, initialise (create + get), every shape, save, round trip."""

from __future__ import annotations

import copy
import time
import urllib.request
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
from encord.exceptions import InvalidArgumentsError, ResourceNotFoundError
from encord.objects import LabelRowV2
from encord.objects.attributes import ChecklistAttribute, RadioAttribute, TextAttribute
from encord.objects.bitmask import BitmaskCoordinates
from encord.objects.coordinates import (
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    PolylineCoordinates,
    SkeletonCoordinate,
)
from encord.objects.ontology_object import Object
from encord.project import Project
from encord.workflow import AnnotationStage
from encord_emulator.testing import EmulatorProcess

from tests.emulator.test_projects_helpers import World, build_world


@pytest.fixture
def world(encord_emulator: EmulatorProcess, moto_endpoint: str) -> World:
    """3 images in a default Annotate -> Review -> Complete project."""
    return build_world(encord_emulator.client(), encord_emulator, moto_endpoint)


def _add_every_shape(project: Project, row: LabelRowV2) -> None:
    ontology = project.ontology_structure
    car = ontology.get_child_by_title("car", type_=Object)
    colour = car.get_child_by_title("colour", type_=RadioAttribute)
    box = car.create_instance()
    box.set_for_frames(
        BoundingBoxCoordinates(height=0.25, width=0.5, top_left_x=0.1, top_left_y=0.2), frames=0
    )
    box.set_answer(colour.get_child_by_title("blue"), attribute=colour)
    row.add_object_instance(box)
    points = [PointCoordinate(0.1, 0.1), PointCoordinate(0.6, 0.1), PointCoordinate(0.3, 0.7)]
    for name, coordinates in (
        ("road", PolygonCoordinates(points)),
        ("lane", PolylineCoordinates(points)),
        ("light", PointCoordinate(0.5, 0.5)),
    ):
        instance = ontology.get_child_by_title(name, type_=Object).create_instance()
        instance.set_for_frames(coordinates, frames=0)
        row.add_object_instance(instance)
    template = ontology.skeleton_templates["pose"]
    skeleton = ontology.get_child_by_title("pose", type_=Object).create_instance()
    skeleton.set_for_frames(
        template.create_instance(
            [
                SkeletonCoordinate(x=0.2 + 0.1 * i, y=0.5, name=name)
                for i, name in enumerate(["head", "hip", "foot"])
            ]
        ),
        frames=0,
    )
    row.add_object_instance(skeleton)
    mask_object = ontology.get_child_by_title("mask", type_=Object)
    mask = mask_object.create_instance()
    array = np.zeros((row.height or 1, row.width or 1), dtype=bool)
    array[2:10, 3:12] = True
    mask.set_for_frames(BitmaskCoordinates(array), frames=0)
    mask.set_answer("a note", attribute=mask_object.get_child_by_title("note", type_=TextAttribute))
    row.add_object_instance(mask)
    weather = ontology.get_child_by_title("weather", type_=RadioAttribute)
    classification = next(
        c for c in ontology.classifications if c.attributes[0].name == "weather"
    ).create_instance()
    classification.set_answer(weather.get_child_by_title("rainy"), attribute=weather)
    classification.set_for_frames(frames=0)
    row.add_classification_instance(classification)
    tags = ontology.get_child_by_title("tags", type_=ChecklistAttribute)
    tag_instance = next(
        c for c in ontology.classifications if c.attributes[0].name == "tags"
    ).create_instance()
    tag_instance.set_answer([tags.get_child_by_title("night")], attribute=tags)
    tag_instance.set_for_frames(frames=0)
    row.add_classification_instance(tag_instance)


def test_list_label_rows_metadata_before_any_labels(world: World) -> None:
    rows = world.project().list_label_rows_v2()
    assert sorted(r.data_title for r in rows) == world.titles
    for row in rows:
        assert row.label_hash is None
        assert row.workflow_graph_node is not None and row.workflow_graph_node.title == "Annotate"
        assert row.dataset_hash == world.dataset_hash
        assert (row.width, row.height) == world.sizes[row.data_title]
        assert str(row.backing_item_uuid) == row.data_hash


def test_every_shape_saves_and_round_trips(world: World) -> None:
    project = world.project()
    row = project.list_label_rows_v2(data_title_eq="img001.png")[0]
    row.initialise_labels()
    assert row.label_hash is not None
    _add_every_shape(project, row)
    row.save()
    expected = row.to_encord_dict()

    reloaded = project.list_label_rows_v2(label_hashes=[row.label_hash])[0]
    reloaded.initialise_labels()
    assert {o.ontology_item.name for o in reloaded.get_object_instances()} == {
        "car",
        "road",
        "lane",
        "light",
        "pose",
        "mask",
    }
    assert {c.ontology_item.attributes[0].name for c in reloaded.get_classification_instances()} == {
        "weather",
        "tags",
    }
    car = next(o for o in reloaded.get_object_instances() if o.ontology_item.name == "car")
    assert car.get_annotation(0).coordinates == BoundingBoxCoordinates(
        height=0.25, width=0.5, top_left_x=0.1, top_left_y=0.2
    )
    got = reloaded.to_encord_dict()
    for key in ("object_answers", "classification_answers", "data_hash", "data_title"):
        assert got[key] == expected[key], key
    unit = row.data_hash
    assert got["data_units"][unit]["labels"] == expected["data_units"][unit]["labels"]


def test_bundled_create_and_save_then_stage_and_edit_filters(world: World) -> None:
    project = world.project()
    before = datetime.now(UTC)
    time.sleep(0.01)
    rows = project.list_label_rows_v2()
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    assert all(row.label_hash for row in rows)
    car = project.ontology_structure.get_child_by_title("car", type_=Object)
    with project.create_bundle() as bundle:
        for row in rows[:2]:
            instance = car.create_instance()
            instance.set_for_frames(
                BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.0, top_left_y=0.0), frames=0
            )
            row.add_object_instance(instance)
            row.save(bundle=bundle)
    # Every row was created after `before`; only the two saved ones were edited after the saves began.
    assert len(project.list_label_rows_v2(edited_after=before)) == 3
    assert len(project.list_label_rows_v2(edited_before=before)) == 0
    assert len(project.list_label_rows_v2(data_hashes=[rows[0].data_hash, rows[1].data_hash])) == 2
    assert len(project.list_label_rows_v2(workflow_graph_node_title_eq="Annotate")) == 3
    assert project.list_label_rows_v2(workflow_graph_node_title_eq="Complete") == []
    assert len(project.list_label_rows_v2(workflow_graph_node_title_like="Ann%")) == 3
    assert len(project.list_label_rows_v2(data_title_like="img00_.png")) == 3
    annotate = project.workflow.get_stage(name="Annotate", type_=AnnotationStage)
    next(iter(annotate.get_tasks(data_hash=rows[0].data_hash))).submit()
    in_review = project.list_label_rows_v2(workflow_graph_node_title_eq="Review")
    assert [r.data_hash for r in in_review] == [rows[0].data_hash]
    reloaded = project.list_label_rows_v2(data_hashes=[rows[0].data_hash])[0]
    reloaded.initialise_labels()
    assert len(reloaded.get_object_instances()) == 1


def test_include_signed_url_gives_a_downloadable_link(world: World) -> None:
    row = world.project().list_label_rows_v2(data_title_eq="img000.png")[0]
    row.initialise_labels(include_signed_url=True)
    assert row.data_link is not None and row.data_link.startswith("http")
    with urllib.request.urlopen(row.data_link, timeout=10) as response:
        assert response.read()[:8] == b"\x89PNG\r\n\x1a\n"


def test_feature_filter_on_initialise(world: World) -> None:
    project = world.project()
    row = project.list_label_rows_v2(data_title_eq="img002.png")[0]
    row.initialise_labels()
    _add_every_shape(project, row)
    row.save()
    assert row.label_hash is not None
    car_hash = project.ontology_structure.get_child_by_title("car", type_=Object).feature_node_hash
    filtered = project.list_label_rows_v2(label_hashes=[row.label_hash])[0]
    filtered.initialise_labels(
        include_object_feature_hashes={car_hash}, include_classification_feature_hashes=set()
    )
    assert [o.ontology_item.name for o in filtered.get_object_instances()] == ["car"]
    assert filtered.get_classification_instances() == []


def test_saving_to_a_missing_row_fails(world: World) -> None:
    project = world.project()
    row = project.list_label_rows_v2()[0]
    row.initialise_labels()
    with pytest.raises(ResourceNotFoundError):
        project.save_label_row(str(uuid.uuid4()), row.to_encord_dict())


def test_saving_an_unknown_feature_hash_is_rejected(world: World) -> None:
    project = world.project()
    row = project.list_label_rows_v2()[0]
    row.initialise_labels()
    car = project.ontology_structure.get_child_by_title("car", type_=Object)
    instance = car.create_instance()
    instance.set_for_frames(
        BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.0, top_left_y=0.0), frames=0
    )
    row.add_object_instance(instance)
    labels = copy.deepcopy(row.to_encord_dict())
    labels["data_units"][row.data_hash]["labels"]["objects"][0]["featureHash"] = "notathing"
    with pytest.raises(InvalidArgumentsError, match="notathing"):
        project.save_label_row(row.label_hash, labels)


def test_workflow_complete_and_reopen_move_the_task(world: World) -> None:
    project = world.project()
    row = project.list_label_rows_v2()[0]
    row.initialise_labels()
    row.workflow_complete()
    assert _stage_of(project, row.data_hash) == "Complete"
    row.workflow_reopen()
    assert _stage_of(project, row.data_hash) == "Annotate"


def _stage_of(project: Project, data_hash: str) -> str:
    node = project.list_label_rows_v2(data_hashes=[data_hash])[0].workflow_graph_node
    assert node is not None
    return node.title
