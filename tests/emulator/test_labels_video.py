"""Video label rows through the real SDK (frame-keyed objects, dynamic attributes, classification ranges
survive save and reload), and the list_label_rows_v2 filters not covered elsewhere."""

from __future__ import annotations

from encord.objects import Classification, Object
from encord.objects.attributes import RadioAttribute
from encord.objects.coordinates import BoundingBoxCoordinates
from encord.objects.frames import Range
from encord.orm.label_row import AnnotationTaskStatus
from encord.project import Project
from encord_emulator.testing import EmulatorProcess

from tests.emulator.test_projects_helpers import project_over_items, register_image_and_video

ONTOLOGY = {
    "objects": [{"name": "car", "shape": "bounding_box", "attributes": [
        {"name": "moving", "type": "radio", "options": ["yes", "no"], "dynamic": True}]}],
    "classifications": [{"name": "weather", "type": "radio", "options": ["sunny", "rainy"]}],
}  # fmt: skip


def _project(emulator: EmulatorProcess, moto: str) -> Project:
    client = emulator.client()
    items = register_image_and_video(client, emulator, moto, 64, 48)
    return project_over_items(client, emulator, list(items.values()), ONTOLOGY)


def test_video_labels_survive_save_and_reload(encord_emulator: EmulatorProcess, moto_endpoint: str) -> None:
    project = _project(encord_emulator, moto_endpoint)
    (row,) = project.list_label_rows_v2(data_title_eq="clip.mp4")
    assert row.number_of_frames == 20
    row.initialise_labels()
    car_class = project.ontology_structure.get_child_by_title("car", type_=Object)
    moving = car_class.get_child_by_title("moving", type_=RadioAttribute)
    car = car_class.create_instance()
    car.set_for_frames(
        BoundingBoxCoordinates(height=0.2, width=0.2, top_left_x=0.1, top_left_y=0.1), frames=Range(0, 3)
    )
    car.set_answer(moving.get_child_by_title("yes"), attribute=moving, frames=Range(0, 1))
    car.set_answer(moving.get_child_by_title("no"), attribute=moving, frames=Range(2, 3))
    row.add_object_instance(car)
    weather = project.ontology_structure.get_child_by_title("weather", type_=Classification).create_instance()
    weather.set_for_frames(Range(5, 9))
    radio = weather.ontology_item.attributes[0]
    weather.set_answer(radio.get_child_by_title("rainy"), attribute=radio)
    row.add_classification_instance(weather)
    row.save()

    (again,) = (
        encord_emulator.client()
        .get_project(project.project_hash)
        .list_label_rows_v2(data_title_eq="clip.mp4")
    )
    again.initialise_labels()
    (reloaded,) = again.get_object_instances()
    assert sorted(reloaded.get_annotation_frames()) == [0, 1, 2, 3]
    assert reloaded.get_answer(moving, filter_frame=1)[0].answer.title == "yes"
    assert reloaded.get_answer(moving, filter_frame=3)[0].answer.title == "no"
    (classification,) = again.get_classification_instances()
    assert [(r.start, r.end) for r in classification.range_list] == [(5, 9)]
    labels = again.to_encord_dict()["data_units"][again.data_hash]["labels"]
    assert sorted(int(frame) for frame in labels) == [0, 1, 2, 3], "frame-keyed labels as Encord stores them"


def test_label_status_and_uninitialised_filters(encord_emulator: EmulatorProcess, moto_endpoint: str) -> None:
    project = _project(encord_emulator, moto_endpoint)
    assert {r.data_title for r in project.list_label_rows_v2()} == {"street.png", "clip.mp4"}
    (image,) = project.list_label_rows_v2(data_title_eq="street.png")
    image.initialise_labels()
    image.save()
    queued = project.list_label_rows_v2(label_statuses=[AnnotationTaskStatus.QUEUED])
    assert len(queued) == 2
    image.workflow_complete()
    (done,) = project.list_label_rows_v2(label_statuses=[AnnotationTaskStatus.COMPLETED])
    assert done.data_title == "street.png"
    assert project.list_label_rows_v2(label_statuses=[AnnotationTaskStatus.IN_REVIEW]) == []
    with_metadata = project.list_label_rows_v2(include_client_metadata=True, data_title_eq="clip.mp4")
    assert with_metadata[0].client_metadata == {}
