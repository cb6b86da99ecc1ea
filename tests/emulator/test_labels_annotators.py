"""Simulated annotators (POST /admin/annotate): labels appear, tasks move annotate -> review -> complete."""

from __future__ import annotations

import pytest
from encord.objects.common import Shape
from encord.objects.coordinates import BoundingBoxCoordinates
from encord.objects.ontology_object_instance import ObjectInstance
from encord_emulator.testing import EmulatorProcess

from tests.emulator.test_projects_helpers import World, build_world


@pytest.fixture
def world(encord_emulator: EmulatorProcess, moto_endpoint: str) -> World:
    """3 images in a default Annotate -> Review -> Complete project."""
    return build_world(encord_emulator.client(), encord_emulator, moto_endpoint)


def _box(instance: ObjectInstance) -> BoundingBoxCoordinates:
    coordinates = instance.get_annotation(0).coordinates
    assert isinstance(coordinates, BoundingBoxCoordinates)
    return coordinates


def _boxes(world: World, stage: str) -> dict[str, list[tuple[float, float, float, float]]]:
    result = {}
    for row in world.project().list_label_rows_v2(workflow_graph_node_title_eq=stage):
        row.initialise_labels()
        result[row.data_title] = [
            (c.top_left_x, c.top_left_y, c.width, c.height)
            for o in row.get_object_instances()
            if o.ontology_item.shape == Shape.BOUNDING_BOX
            for c in [_box(o)]
        ]
    return result


def test_annotate_then_review_moves_everything_to_complete_with_labels(world: World) -> None:
    result = world.emulator.admin_post("/admin/annotate", {"project_hash": world.project_hash, "seed": 7})
    assert result["annotated"] == 3 and result["approved"] == 3
    assert result["stages"] == {"Annotate": 0, "Review": 0, "Complete": 3}
    project = world.project()
    rows = project.list_label_rows_v2(workflow_graph_node_title_eq="Complete")
    assert len(rows) == 3
    for row in rows:
        row.initialise_labels()
        shapes = sorted(o.ontology_item.shape.value for o in row.get_object_instances())
        assert shapes == ["bounding_box", "point", "polygon", "polyline"]
        car = next(o for o in row.get_object_instances() if o.ontology_item.name == "car")
        assert car.get_answer(car.ontology_item.attributes[0]) is not None
        assert {c.ontology_item.attributes[0].name for c in row.get_classification_instances()} == {
            "weather",
            "tags",
        }
        width, height = world.sizes[row.data_title]
        box = _box(car)
        # Whole pixels of this image, inside the frame.
        assert round(box.width * width, 3) == pytest.approx(round(box.width * width))
        assert 0 <= box.top_left_x and box.top_left_x + box.width <= 1.0
        assert 0 <= box.top_left_y and box.top_left_y + box.height <= 1.0 + 1e-9
        assert row.to_encord_dict()["data_units"][row.data_hash]["labels"]["objects"]


def test_same_seed_same_labels_and_rejects_go_back(world: World) -> None:
    admin = world.emulator.admin_post
    first = admin("/admin/annotate", {"project_hash": world.project_hash, "seed": 3, "review": False})
    assert first["stages"] == {"Annotate": 0, "Review": 3, "Complete": 0}
    boxes = _boxes(world, "Review")
    second = admin("/admin/annotate", {"project_hash": world.project_hash, "reject_every": 2})
    assert second["rejected"] == 1 and second["approved"] == 2
    assert second["stages"] == {"Annotate": 1, "Review": 0, "Complete": 2}
    third = admin("/admin/annotate", {"project_hash": world.project_hash, "seed": 3, "max_tasks": 1})
    assert third["annotated"] == 1 and third["stages"]["Complete"] == 3
    assert _boxes(world, "Complete") == boxes


def test_annotate_rejects_bad_requests(world: World) -> None:
    with pytest.raises(RuntimeError, match="404"):
        world.emulator.admin_post("/admin/annotate", {"project_hash": "00000000-0000-0000-0000-000000000000"})
    with pytest.raises(RuntimeError, match="max_tasks"):
        world.emulator.admin_post("/admin/annotate", {"project_hash": world.project_hash, "max_tasks": 0})
