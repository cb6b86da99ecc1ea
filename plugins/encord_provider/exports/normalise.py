"""The server's label-row dict -> exactly what `LabelRowV2.from_labels_dict(raw); to_encord_dict()` returns,
without building the SDK's object model for every object of every row.

Why: on an export that model (an `ObjectInstance` per object, frame ranges, validation on every set) is
most of the CPU. The exported bytes must not change, so this reproduces the SDK's rendering field by
field for the row shapes it knows, and reuses the SDK's own code for the parts whose rules are intricate:
coordinates (`frame_object_coordinates(...).to_dict()`), dates (`parse_datetime` then
`format_datetime_to_long_string`), classification ranges and answers (a real `ClassificationInstance`),
and object attribute answers (a real `ObjectInstance`, memoised per ontology object and answer list).

Anything else raises `Unsupported` and the caller renders that row through the SDK: other data types
(image groups, DICOM, audio, text, scenes...), spaces, event-based rows, interpolation, dynamic
attributes, object actions, duplicated hashes, missing timestamps (the SDK would stamp "now"), bitmasks
whose size differs from the media. `tests/integration/test_export_normaliser.py` compares the two on
generated rows of every shape and attribute kind.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from encord.common.range_manager import RangeManager
from encord.common.time_parser import format_datetime_to_long_string_optional, parse_datetime
from encord.constants.enums import DataType
from encord.objects import Classification, ClassificationInstance, Object, ObjectInstance
from encord.objects.common import Shape
from encord.objects.constants import DEFAULT_CONFIDENCE, DEFAULT_MANUAL_ANNOTATION
from encord.objects.coordinates import (
    BitmaskCoordinates,
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    PolylineCoordinates,
    RotatableBoundingBoxCoordinates,
    SkeletonCoordinates,
    frame_object_coordinates,
)
from encord.objects.frames import ranges_list_to_ranges, ranges_to_list
from encord.objects.ontology_labels_impl import LabelRowV2
from encord.objects.utils import _lower_snake_case
from encord.orm.label_row import LabelStatus

from encord_provider.encord_api.label_rows import RowListing
from encord_provider.errors import PermanentError

if TYPE_CHECKING:
    from encord.objects import OntologyStructure

SUPPORTED_DATA_TYPES = {DataType.IMAGE.value, DataType.VIDEO.value}
ANSWER_CACHE_SIZE = 4096
# Shape -> (coordinate class, the keys `to_encord_dict` writes from it).
_COORDINATES: dict[Shape, tuple[type[Any], tuple[str, ...]]] = {
    Shape.BOUNDING_BOX: (BoundingBoxCoordinates, ("boundingBox",)),
    Shape.ROTATABLE_BOUNDING_BOX: (RotatableBoundingBoxCoordinates, ("rotatableBoundingBox",)),
    Shape.POLYGON: (PolygonCoordinates, ("polygon", "polygons")),
    Shape.POLYLINE: (PolylineCoordinates, ("polyline",)),
    Shape.POINT: (PointCoordinate, ("point",)),
    Shape.BITMASK: (BitmaskCoordinates, ("bitmask",)),
    Shape.SKELETON: (SkeletonCoordinates, ("skeleton",)),
}
# Keys of a frame object the SDK turns into behaviour this module does not reproduce.
_UNSUPPORTED_OBJECT_KEYS = ("event", "interpolate")


class Unsupported(PermanentError):
    """A row shape the normaliser does not reproduce. Never leaves the export: the row is rendered by the
    SDK instead (permanent: asking again gives the same answer)."""


@lru_cache(maxsize=65_536)
def _long_date(value: str) -> str | None:
    return format_datetime_to_long_string_optional(parse_datetime(value))


def _date(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unsupported(f"date of type {type(value).__name__}")
    return _long_date(value)


def _required_date(entry: dict[str, Any], key: str) -> str | None:
    """The SDK stamps a missing annotation date with the current time; such a row is not reproducible."""
    if entry.get(key) is None:
        raise Unsupported(f"{key} missing")
    return _date(entry[key])


class LabelRowNormaliser:
    """Renders raw label-row dicts of one project (one ontology) the way `to_encord_dict()` does."""

    def __init__(self, ontology: OntologyStructure) -> None:
        self.ontology = ontology
        self._objects: dict[str, Object] = {o.feature_node_hash: o for o in ontology.objects}
        self._classifications: dict[str, Classification] = {
            c.feature_node_hash: c for c in ontology.classifications
        }
        self._answers: dict[tuple[str, str], list[Any]] = {}

    def normalise(self, raw: dict[str, Any], listed: RowListing) -> dict[str, Any]:
        """`raw` (from the server) rendered as `to_encord_dict()` would; `listed` is the row's listing
        (the SDK takes `is_shadow_data`, duration, fps and spaces from it, not from `raw`).

        Raises `Unsupported` for a shape it does not reproduce, and for any row it cannot read (the SDK then
        renders it, or raises its own error about it)."""
        try:
            return self._normalise(raw, listed)
        except Unsupported:
            raise
        except Exception as err:  # a malformed row: the SDK's own error is the one to show
            raise Unsupported(f"{type(err).__name__}: {err}") from err

    def _normalise(self, raw: dict[str, Any], listed: RowListing) -> dict[str, Any]:
        _check_row(raw, listed)
        unit = _single_data_unit(raw)
        objects = self._objects_by_hash(raw, unit)
        return {
            "label_hash": raw["label_hash"],
            "branch_name": raw["branch_name"],
            "created_at": _date(raw["created_at"]),
            "last_edited_at": _date(raw["last_edited_at"]),
            "data_hash": raw["data_hash"],
            "dataset_hash": raw["dataset_hash"],
            "dataset_title": raw["dataset_title"],
            "data_title": raw["data_title"],
            "data_type": DataType(raw["data_type"]).value,
            "annotation_task_status": raw.get("annotation_task_status"),
            "is_shadow_data": listed.is_shadow_data,
            "object_answers": self._object_answers(raw, objects),
            "classification_answers": self._classification_answers(raw),
            "object_actions": {},
            "label_status": LabelStatus(raw["label_status"]).value,
            "data_units": {unit["data_hash"]: self._data_unit(raw, unit, objects, listed)},
            "spaces": {},
        }

    # -- objects ------------------------------------------------------------------------------

    def _objects_by_hash(self, raw: dict[str, Any], unit: dict[str, Any]) -> dict[str, _Object]:
        """Every object in the order the SDK meets it, with its rendered entry per frame."""
        objects: dict[str, _Object] = {}
        for frame, entries in _frames(raw, unit):
            for entry in entries:
                object_hash = entry["objectHash"]
                found = objects.get(object_hash)
                if found is None:
                    found = objects[object_hash] = _Object(self._ontology_object(entry["featureHash"]))
                elif found.ontology.feature_node_hash != entry["featureHash"] or frame in found.frames:
                    raise Unsupported(f"object {object_hash} repeated on frame {frame} or with two features")
                found.frames[frame] = self._frame_object(found.ontology, entry, unit)
        return objects

    def _ontology_object(self, feature_hash: str) -> Object:
        ontology_object = self._objects.get(feature_hash)
        if ontology_object is None:
            raise Unsupported(f"object feature {feature_hash} not in the ontology")
        if any(attribute.dynamic for attribute in ontology_object.attributes):
            raise Unsupported("dynamic attributes")
        return ontology_object

    def _frame_object(self, ontology: Object, entry: dict[str, Any], unit: dict[str, Any]) -> dict[str, Any]:
        if any(key in entry for key in _UNSUPPORTED_OBJECT_KEYS):
            raise Unsupported("event-based or interpolated object")
        confidence, manual = entry.get("confidence"), entry.get("manualAnnotation")
        rendered: dict[str, Any] = {
            "name": ontology.name,
            "color": ontology.color,
            "shape": ontology.shape.value,
            "value": _lower_snake_case(ontology.name),
            "createdAt": _required_date(entry, "createdAt"),
            "createdBy": entry.get("createdBy"),
            "confidence": DEFAULT_CONFIDENCE if confidence is None else confidence,
            "objectHash": entry["objectHash"],
            "featureHash": ontology.feature_node_hash,
            "manualAnnotation": DEFAULT_MANUAL_ANNOTATION if manual is None else manual,
            "lastEditedAt": _required_date(entry, "lastEditedAt"),
        }
        if entry.get("lastEditedBy") is not None:
            rendered["lastEditedBy"] = entry["lastEditedBy"]
        if entry.get("isDeleted") is not None:
            rendered["isDeleted"] = entry["isDeleted"]
        rendered.update(_coordinates(ontology, entry, unit))
        return rendered

    def _object_answers(self, raw: dict[str, Any], objects: dict[str, _Object]) -> dict[str, Any]:
        answers: dict[str, dict[str, Any]] = {}
        for answer in raw["object_answers"].values():
            if answer["objectHash"] in answers:
                raise Unsupported(f"two answers for object {answer['objectHash']}")
            answers[answer["objectHash"]] = answer
        rendered: dict[str, Any] = {}
        for object_hash, found in objects.items():
            answer = answers.get(object_hash, {})
            entry: dict[str, Any] = {
                "classifications": self._static_answers(found.ontology, answer.get("classifications", [])),
                "objectHash": object_hash,
            }
            if answer.get("objectNumber") is not None:
                entry["objectNumber"] = answer["objectNumber"]
            rendered[object_hash] = entry
        return rendered

    def _static_answers(self, ontology: Object, answers: list[dict[str, Any]]) -> list[Any]:
        """The SDK's rendering of an object's answer list, memoised (answer lists repeat across rows; the
        rows go to the writers, which never modify them, so a memoised list is shared)."""
        if any(answer.get("dynamic") for answer in answers):
            raise Unsupported("dynamic answer")
        return self._memoised(ontology, answers, _object_answers)

    def _memoised(
        self, ontology: Object | Classification, answers: list[dict[str, Any]], render: Any
    ) -> list[Any]:
        key = (ontology.feature_node_hash, repr(answers))
        cached = self._answers.get(key)
        if cached is None:
            cached = render(ontology, answers)
            if len(self._answers) >= ANSWER_CACHE_SIZE:
                self._answers.clear()
            self._answers[key] = cached
        return cached

    # -- classifications ----------------------------------------------------------------------

    def _classification_answers(self, raw: dict[str, Any]) -> dict[str, Any]:
        """As `_parse_root_classifications_from_answers` then `_to_classification_answers` (the answers
        rendered by a real `ClassificationInstance`, the ranges merged by the SDK's `RangeManager`)."""
        rendered: dict[str, Any] = {}
        features: set[str] = set()
        for answer in raw["classification_answers"].values():
            feature_hash = answer.get("featureHash")
            if not feature_hash:
                continue
            if any(space != "root" for space in answer.get("spaces") or {}):
                raise Unsupported("classification placed on a space")
            ranges = ranges_list_to_ranges(answer.get("range") or [])
            if not ranges:
                continue
            classification_hash = answer["classificationHash"]
            if feature_hash in features or classification_hash in rendered:
                raise Unsupported("a classification twice")
            features.add(feature_hash)
            rendered[classification_hash] = self._classification(answer, ranges)
        return rendered

    def _classification(self, answer: dict[str, Any], ranges: Any) -> dict[str, Any]:
        ontology = self._classifications.get(answer["featureHash"])
        if ontology is None:
            raise Unsupported(f"classification feature {answer['featureHash']} not in the ontology")
        confidence, manual = answer.get("confidence"), answer.get("manualAnnotation")
        return {
            "classifications": self._memoised(ontology, answer["classifications"], _classification_answers),
            "classificationHash": answer["classificationHash"],
            "featureHash": ontology.feature_node_hash,
            "spaces": {},
            "range": ranges_to_list(RangeManager(frame_class=ranges).get_ranges()),
            "createdBy": answer.get("createdBy"),
            "createdAt": _required_date(answer, "createdAt"),
            "lastEditedBy": answer.get("lastEditedBy"),
            "lastEditedAt": _required_date(answer, "lastEditedAt"),
            "confidence": DEFAULT_CONFIDENCE if confidence is None else confidence,
            "manualAnnotation": DEFAULT_MANUAL_ANNOTATION if manual is None else manual,
        }

    # -- data unit ----------------------------------------------------------------------------

    def _data_unit(
        self, raw: dict[str, Any], unit: dict[str, Any], objects: dict[str, _Object], listed: RowListing
    ) -> dict[str, Any]:
        rendered: dict[str, Any] = {
            "data_hash": unit["data_hash"],
            "data_title": unit["data_title"],
            "data_link": unit.get("data_link"),
            "data_type": unit["data_type"],
            "data_sequence": int(unit["data_sequence"]),
            "width": unit.get("width", 0),
            "height": unit.get("height", 0),
            "labels": _labels(raw, objects, int(unit["data_sequence"])),
        }
        if listed.duration is not None:
            rendered["data_duration"] = listed.duration
        if listed.fps is not None:
            rendered["data_fps"] = listed.fps
        return rendered


class _Object:
    """One object of a row: its ontology entry and its rendered entry per frame (in the order met)."""

    __slots__ = ("frames", "ontology")

    def __init__(self, ontology: Object) -> None:
        self.ontology = ontology
        self.frames: dict[int, dict[str, Any]] = {}


def _check_row(raw: dict[str, Any], listed: RowListing) -> None:
    if raw.get("data_type") not in SUPPORTED_DATA_TYPES:
        raise Unsupported(f"data type {raw.get('data_type')}")
    if raw.get("spaces") or raw.get("scene") or listed.has_spaces:
        raise Unsupported("spaces")
    if raw.get("object_actions"):
        raise Unsupported("object actions")


def _single_data_unit(raw: dict[str, Any]) -> dict[str, Any]:
    units = list(raw["data_units"].values())
    if len(units) != 1 or "data_link" not in units[0]:
        raise Unsupported(f"{len(units)} data units")
    unit: dict[str, Any] = units[0]
    return unit


def _frames(raw: dict[str, Any], unit: dict[str, Any]) -> list[tuple[int, list[dict[str, Any]]]]:
    """(frame, frame objects) as the SDK reads them: an image's one frame, a video's labels by frame key."""
    labels = unit.get("labels", {})
    if raw["data_type"] == DataType.IMAGE.value:
        return [(int(unit["data_sequence"]), labels.get("objects", []))]
    return [(int(frame), frame_data["objects"]) for frame, frame_data in labels.items()]


def _labels(raw: dict[str, Any], objects: dict[str, _Object], image_frame: int) -> dict[str, Any]:
    def on_frame(frame: int) -> dict[str, Any]:
        entries = [found.frames[frame] for found in objects.values() if frame in found.frames]
        return {"objects": entries, "classifications": []}

    if raw["data_type"] == DataType.IMAGE.value:
        return on_frame(image_frame)
    frames = sorted({frame for found in objects.values() for frame in found.frames})
    return {str(frame): on_frame(frame) for frame in frames}


def _coordinates(ontology: Object, entry: dict[str, Any], unit: dict[str, Any]) -> dict[str, Any]:
    expected = _COORDINATES.get(ontology.shape)
    if expected is None:
        raise Unsupported(f"shape {ontology.shape.value}")
    coordinate_class, keys = expected
    plain = _plain_coordinates(entry) if entry.get("shape") == ontology.shape.value else None
    if plain is not None:
        return plain
    coordinates = frame_object_coordinates(entry)  # type: ignore[arg-type]
    if type(coordinates) is not coordinate_class:
        raise Unsupported(f"{type(coordinates).__name__} on a {ontology.shape.value} object")
    if isinstance(coordinates, BitmaskCoordinates):
        encoded = coordinates._encoded_bitmask
        if (encoded.height, encoded.width) != (unit.get("height", 0), unit.get("width", 0)):
            raise Unsupported("bitmask size differs from the media")
    if isinstance(coordinates, PolygonCoordinates):
        from encord.objects.coordinates import PolygonCoordsToDict

        return {
            "polygon": coordinates.to_dict(),
            "polygons": coordinates.to_dict(PolygonCoordsToDict.multiple_polygons),
        }
    return {keys[0]: coordinates.to_dict()}


def _object_answers(ontology: Object, answers: list[dict[str, Any]]) -> list[Any]:
    """`LabelRowV2._get_all_static_answers` of an object given `answers`, as `_to_object_answers` orders it."""
    instance = ObjectInstance(ontology)
    instance.set_answer_from_list(answers)  # type: ignore[arg-type]
    return list(reversed(LabelRowV2._get_all_static_answers(instance)))


def _classification_answers(ontology: Classification, answers: list[dict[str, Any]]) -> list[Any]:
    """A classification's answered static answers, as `_to_classification_answers` renders them."""
    instance = ClassificationInstance(ontology)
    instance.set_answer_from_list(answers)  # type: ignore[arg-type]
    answered = [
        answer.to_encord_dict() for answer in instance.get_all_static_answers() if answer.is_answered()
    ]
    return list(reversed(answered))


def _plain_coordinates(entry: dict[str, Any]) -> dict[str, Any] | None:
    """A box's, point's, polygon's or polyline's `to_dict()`, written directly: their coordinate classes are
    plain dataclasses whose `from_dict` / `to_dict` copy the numbers. None for every other shape."""
    shape = entry.get("shape")
    if shape == Shape.BOUNDING_BOX.value:
        box = entry["boundingBox"]
        return {"boundingBox": {"h": box["h"], "w": box["w"], "x": box["x"], "y": box["y"]}}
    if shape == Shape.POINT.value:
        point = entry["point"]["0"]
        if "z" not in point:
            return {"point": {"0": {"x": point["x"], "y": point["y"]}}}
    if shape == Shape.POLYGON.value:
        return _polygon(entry)
    if shape == Shape.POLYLINE.value:
        return _polyline(entry)
    return None


def _polyline(entry: dict[str, Any]) -> dict[str, Any] | None:
    """`PolylineCoordinates.from_dict(entry).to_dict()`: the points (sorted by index), all 2D or all 3D."""
    line = entry["polyline"]
    if isinstance(line, dict):
        points = [point for _, point in sorted((int(key), point) for key, point in line.items())]
    elif isinstance(line, list):
        points = list(line)
    else:
        return None  # the SDK's error
    if all("x" in p and "y" in p and "z" in p for p in points):
        keys: tuple[str, ...] = ("x", "y", "z")
    elif all("x" in p and "y" in p and "z" not in p for p in points):
        keys = ("x", "y")
    else:
        return None  # the SDK's error
    return {"polyline": {str(i): {key: point[key] for key in keys} for i, point in enumerate(points)}}


def _polygon(entry: dict[str, Any]) -> dict[str, Any] | None:
    """`PolygonCoordinates.from_dict(entry)` then its two `to_dict`s, on (x, y) tuples instead of points.

    The single polygon's points (sorted by index) and the polygons' contours are kept as they come, except
    that the single polygon is taken from the first contour when the two disagree, as the SDK does."""
    single = entry.get("polygon")
    if isinstance(single, dict):
        points = [(p["x"], p["y"]) for _, p in sorted((int(key), p) for key, p in single.items())]
    elif isinstance(single, list):
        points = [(p["x"], p["y"]) for p in single]
    elif not single:
        points = []
    else:
        return None  # the SDK's error
    many = entry.get("polygons") or []
    if not isinstance(many, list):
        return None
    polygons = [
        [[(ring[i], ring[i + 1]) for i in range(0, len(ring), 2)] for ring in polygon] for polygon in many
    ]
    if not points and not polygons:
        return None  # the SDK's error
    if not polygons:
        polygons = [[list(points)]]
    elif not points or polygons[0][0] != points:
        points = list(polygons[0][0])
    return {
        "polygon": {str(i): {"x": x, "y": y} for i, (x, y) in enumerate(points)},
        "polygons": [[[c for point in ring for c in point] for ring in polygon] for polygon in polygons],
    }
