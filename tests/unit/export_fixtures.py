"""Label rows with every shape and answer type, in the SDK's `to_encord_dict()` shape (no tests here).

`rich_ontology()` has one object per shape (incl. a skeleton with its template), nested, checklist, text,
numeric and dynamic attributes, and a checklist classification. The builders make image, video and DICOM
rows whose objects use those features, so COCO and table tests can check each rule on realistic input.
"""

from __future__ import annotations

from typing import Any

from encord_provider.exports.synthetic import mask_rle

STAMP = "Sun, 01 Mar 2026 12:00:00 UTC"


def _option(oid: str, label: str, nested: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"id": oid, "label": label, "value": label, "featureNodeHash": f"opt-{label}"}
    if nested:
        option["options"] = nested
    return option


def _attribute(aid: str, name: str, kind: str, feature: str, **extra: Any) -> dict[str, Any]:
    return {"id": aid, "name": name, "type": kind, "featureNodeHash": feature, "required": False,
            "dynamic": False, **extra}  # fmt: skip


def _object(
    oid: str, name: str, shape: str, attributes: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"id": oid, "name": name, "color": "#D33115", "shape": shape, "featureNodeHash": f"obj-{name}",
            "attributes": attributes or []}  # fmt: skip


def rich_ontology() -> dict[str, Any]:
    car_attributes = [
        _attribute("1.1", "colour", "radio", "att-colour", options=[
            _option("1.1.1", "red", [_attribute("1.1.1.1", "shade", "text", "att-red-shade")]),
            _option("1.1.2", "blue", [_attribute("1.1.2.1", "shade", "text", "att-blue-shade")]),
        ]),
        _attribute("1.2", "damage", "checklist", "att-damage",
                   options=[_option("1.2.1", "dent"), _option("1.2.2", "scratch")]),
        _attribute("1.3", "plate", "text", "att-plate"),
        _attribute("1.4", "speed", "numeric", "att-speed"),
        _attribute("1.5", "moving", "radio", "att-moving", dynamic=True,
                   options=[_option("1.5.1", "yes"), _option("1.5.2", "no")]),
    ]  # fmt: skip
    skeleton_nodes = {
        str(i): {"x": 0.1 * i, "y": 0.5, "name": name, "color": "#000000", "value": name,
                 "featureHash": f"kp-{name}"}
        for i, name in enumerate(["head", "hip", "foot"])
    }  # fmt: skip
    template = {"name": "pose", "width": 1.0, "height": 1.0, "skeleton": skeleton_nodes,
                "skeletonEdges": {"0": {"1": {"color": "#000000"}}, "1": {"2": {"color": "#000000"}}},
                "feature_node_hash": "obj-pose", "shape": "skeleton"}  # fmt: skip
    return {
        "objects": [
            _object("1", "car", "bounding_box", car_attributes),
            _object("2", "sign", "rotatable_bounding_box"),
            _object("3", "road", "polygon"),
            _object("4", "lane", "polyline"),
            _object("5", "pin", "point"),
            _object("6", "pose", "skeleton"),
            _object("7", "sky", "bitmask"),
            _object("8", "quote", "text"),
        ],
        "classifications": [
            {"id": "1", "featureNodeHash": "cls-tags", "attributes": [
                _attribute("1.1", "tags", "checklist", "att-tags",
                           options=[_option("1.1.1", "night"), _option("1.1.2", "blurry")])]},
        ],
        "skeleton_templates": [{"template": template}],
    }  # fmt: skip


def answer(name: str, feature: str, answers: Any) -> dict[str, Any]:
    return {"name": name, "value": name, "featureHash": feature, "answers": answers, "manualAnnotation": True}


def ticks(*labels: str) -> list[dict[str, str]]:
    return [{"name": label, "value": label, "featureHash": f"opt-{label}"} for label in labels]


def labelled_object(
    name: str, shape: str, object_hash: str, geometry_key: str, geometry: Any
) -> dict[str, Any]:
    return {"name": name, "color": "#D33115", "shape": shape, "value": name, "createdAt": STAMP,
            "createdBy": None, "confidence": 1.0, "objectHash": object_hash, "featureHash": f"obj-{name}",
            "manualAnnotation": True, "lastEditedAt": STAMP, geometry_key: geometry}  # fmt: skip


def square(x: float, y: float, size: float) -> list[float]:
    return [x, y, x + size, y, x + size, y + size, x, y + size]


def every_shape(width: int = 64, height: int = 48) -> list[dict[str, Any]]:
    """One object of every pixel shape, including the awkward ones (2-point line, multi-polygon, hole)."""
    points = lambda *xy: {str(i): {"x": x, "y": y} for i, (x, y) in enumerate(xy)}  # noqa: E731
    skeleton = {
        "0": {"x": 0.5, "y": 0.2, "name": "head", "featureHash": "kp-head", "visibility": "visible"},
        "1": {"x": 0.0, "y": 0.0, "name": "foot", "featureHash": "kp-foot", "visibility": "invisible"},
        "2": {"x": 0.5, "y": 0.6, "name": "hip", "featureHash": "kp-hip", "visibility": "occluded"},
    }
    return [
        labelled_object("car", "bounding_box", "o-box", "boundingBox", {"x": 0.1, "y": 0.1, "w": 0.3, "h": 0.2}),
        labelled_object("sign", "rotatable_bounding_box", "o-rbox", "rotatableBoundingBox",
                        {"x": 0.5, "y": 0.5, "w": 0.2, "h": 0.1, "theta": 30.0}),
        labelled_object("road", "polygon", "o-poly", "polygon", points((0.1, 0.6), (0.5, 0.6), (0.3, 0.9))),
        labelled_object("road", "polygon", "o-poly2", "polygon", points((0.1, 0.1), (0.4, 0.4))),
        labelled_object("road", "polygon", "o-multi", "polygons",
                        [[square(0.0, 0.0, 0.2)], [square(0.6, 0.6, 0.2)]]),
        labelled_object("road", "polygon", "o-hole", "polygons",
                        [[square(0.1, 0.1, 0.8), square(0.3, 0.3, 0.2)]]),
        labelled_object("lane", "polyline", "o-line", "polyline", points((0.0, 0.5), (0.5, 0.5), (1.0, 0.7))),
        labelled_object("lane", "polyline", "o-line2", "polyline", points((0.2, 0.2), (0.8, 0.2))),
        labelled_object("pin", "point", "o-pin", "point", points((0.5, 0.5))),
        labelled_object("pose", "skeleton", "o-pose", "skeleton", skeleton),
        labelled_object("sky", "bitmask", "o-sky", "bitmask",
                        {"top": 0, "left": 0, "width": width, "height": height, "rleString": mask_rle(width, height)}),
    ]  # fmt: skip


def image_row(objects: list[dict[str, Any]], object_answers: dict[str, Any] | None = None,
              classification_answers: dict[str, Any] | None = None, width: int = 64,
              height: int = 48) -> dict[str, Any]:  # fmt: skip
    answers = {o["objectHash"]: {"objectHash": o["objectHash"], "classifications": []} for o in objects}
    answers.update(object_answers or {})
    return {
        "label_hash": "label-image", "branch_name": "main", "created_at": "2026-03-01 12:00:00",
        "last_edited_at": "2026-03-01 12:00:00", "data_hash": "data-image", "dataset_hash": "ds",
        "dataset_title": "ds", "data_title": "street.png", "data_type": "image", "label_status": "LABELLED",
        "data_units": {"data-image": {
            "data_hash": "data-image", "data_title": "street.png", "data_type": "image/png", "data_sequence": 0,
            "data_link": "s3://media/street.png", "width": width, "height": height,
            "labels": {"objects": objects, "classifications": []}}},
        "object_answers": answers, "classification_answers": classification_answers or {}, "object_actions": {},
    }  # fmt: skip


def frames_row(data_type: str, mime: str, frames: dict[int, list[dict[str, Any]]],
               classification_answers: dict[str, Any] | None = None,
               object_actions: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """A one-unit, frame-keyed row (video, DICOM) with `frames` {frame: objects}."""
    objects = [o for frame_objects in frames.values() for o in frame_objects]
    answers = {o["objectHash"]: {"objectHash": o["objectHash"], "classifications": []} for o in objects}
    labels = {str(frame): {"objects": objs, "classifications": []} for frame, objs in frames.items()}
    return {
        "label_hash": f"label-{data_type}", "branch_name": "main", "created_at": "2026-03-01 12:00:00",
        "last_edited_at": "2026-03-01 12:00:00", "data_hash": f"data-{data_type}", "dataset_hash": "ds",
        "dataset_title": "ds", "data_title": f"clip.{data_type}", "data_type": data_type,
        "label_status": "LABELLED",
        "data_units": {f"data-{data_type}": {
            "data_hash": f"data-{data_type}", "data_title": f"clip.{data_type}", "data_type": mime,
            "data_sequence": 0, "data_link": f"s3://media/clip.{data_type}", "width": 32, "height": 24,
            "labels": labels}},
        "object_answers": answers, "classification_answers": classification_answers or {},
        "object_actions": object_actions or {},
    }  # fmt: skip


def tags_classification(classification_hash: str, ranges: list[list[int]], *labels: str) -> dict[str, Any]:
    return {classification_hash: {
        "classificationHash": classification_hash, "featureHash": "cls-tags", "range": ranges,
        "createdAt": STAMP, "lastEditedAt": STAMP, "confidence": 1.0, "manualAnnotation": True,
        "classifications": [answer("tags", "att-tags", ticks(*labels))]}}  # fmt: skip
