"""Pre-labelling agent as a plain callable `(task, label_row) -> pathway`.

Adds one bounding box (the ontology's first bounding-box object) around the brightest pixels of the image,
fetched through the label row's signed data link, saves the row and routes to "labelled"; rows whose image
cannot be fetched go to "skip". Config: `agent: agents.pre_label:pre_label`, `include_signed_url: true`.
"""

from __future__ import annotations

from typing import Any

from encord.objects import LabelRowV2
from encord.objects.common import Shape
from encord.objects.coordinates import BoundingBoxCoordinates

from agents.imaging import brightest_region, fetch_gray


def pre_label(task: Any, label_row: LabelRowV2) -> str:
    box_object = next(
        (o for o in label_row.ontology_structure.objects if o.shape == Shape.BOUNDING_BOX), None
    )
    gray = fetch_gray(label_row.data_link)
    if box_object is None or gray is None:
        return "skip"
    x, y, w, h = brightest_region(gray)
    instance = box_object.create_instance()
    instance.set_for_frames(
        BoundingBoxCoordinates(top_left_x=x, top_left_y=y, width=w, height=h),
        frames=0,
        manual_annotation=False,
        confidence=0.5,
    )
    label_row.add_object_instance(instance)
    label_row.save()
    return "labelled"
