"""Flat label table for warehouse queries: one row per object instance per frame, one per classification
and frame range (`frame` .. `frame_end`, inclusive). Audio and text objects have no frames: they get one
row per range, `frame` .. `frame_end` holding the range as Encord records it (milliseconds for audio,
character offsets for text).

`attributes` is a JSON object of the answers, typed by the ontology (see `exports.attributes`): a checklist
is always a list. Parquet is written in row groups through pyarrow (memory bounded by one group); CSV is
streamed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from encord_provider.exports.attributes import AttributeIndex
from encord_provider.exports.frames import iter_frames
from encord_provider.exports.geometry import normalised_box, shape_key

SCHEMA = pa.schema(
    [
        ("label_hash", pa.string()),
        ("data_hash", pa.string()),
        ("data_title", pa.string()),
        ("data_type", pa.string()),
        ("dataset_hash", pa.string()),
        ("frame", pa.int64()),
        ("frame_end", pa.int64()),
        ("kind", pa.string()),
        ("instance_hash", pa.string()),
        ("feature_hash", pa.string()),
        ("name", pa.string()),
        ("shape", pa.string()),
        ("bbox_x", pa.float64()),
        ("bbox_y", pa.float64()),
        ("bbox_w", pa.float64()),
        ("bbox_h", pa.float64()),
        ("attributes", pa.string()),
        ("confidence", pa.float64()),
        ("manual_annotation", pa.bool_()),
        ("created_by", pa.string()),
        ("created_at", pa.string()),
        ("last_edited_at", pa.string()),
        ("label_last_edited_at", pa.string()),
    ]
)
COLUMNS = SCHEMA.names


def _base(row: dict[str, Any], data_hash: str, frame: int, frame_end: int | None = None) -> dict[str, Any]:
    return {
        "label_hash": row.get("label_hash"),
        "data_hash": data_hash,
        "data_title": row.get("data_title"),
        "data_type": row.get("data_type"),
        "dataset_hash": row.get("dataset_hash"),
        "frame": frame,
        "frame_end": frame if frame_end is None else frame_end,
        "label_last_edited_at": _text(row.get("last_edited_at")),
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _provenance(instance: dict[str, Any]) -> dict[str, Any]:
    """The trailing columns every object and classification row carries."""
    return {
        "confidence": _float(instance.get("confidence")),
        "manual_annotation": instance.get("manualAnnotation"),
        "created_by": _text(instance.get("createdBy")),
        "created_at": _text(instance.get("createdAt")),
        "last_edited_at": _text(instance.get("lastEditedAt")),
    }


_ATTRIBUTES_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
"""`json.dumps(..., sort_keys=True, ensure_ascii=False)` without building an encoder per record."""


def _json(value: Any) -> str:
    return _ATTRIBUTES_JSON.encode(value)


def _object_record(
    row: dict[str, Any],
    data_hash: str,
    frame: int,
    obj: dict[str, Any],
    attributes: AttributeIndex,
    frame_end: int | None = None,
) -> dict[str, Any]:
    object_hash = obj.get("objectHash")
    box = normalised_box(obj)
    return {
        **_base(row, data_hash, frame, frame_end),
        "kind": "object",
        "instance_hash": object_hash,
        "feature_hash": obj.get("featureHash"),
        "name": obj.get("name"),
        "shape": obj.get("shape") or shape_key(obj),
        "bbox_x": box[0] if box else None,
        "bbox_y": box[1] if box else None,
        "bbox_w": box[2] if box else None,
        "bbox_h": box[3] if box else None,
        "attributes": _json(attributes.object_attributes(row, obj, frame)),
        **_provenance(obj),
    }


def _ranges(answer: dict[str, Any]) -> list[tuple[int, int]]:
    pairs = [p for p in answer.get("range") or [] if isinstance(p, list | tuple) and len(p) == 2]
    return [(int(start), int(end)) for start, end in pairs] or [(0, 0)]


def _classification_records(
    row: dict[str, Any], answer: dict[str, Any], attributes: AttributeIndex
) -> Iterator[dict[str, Any]]:
    for start, end in _ranges(answer):
        yield _classification_record(row, answer, start, end, attributes)


def _classification_record(
    row: dict[str, Any], answer: dict[str, Any], start: int, end: int, attributes: AttributeIndex
) -> dict[str, Any]:
    answers = answer.get("classifications") or []
    return {
        **_base(row, str(row.get("data_hash")), start, end),
        "kind": "classification",
        "instance_hash": answer.get("classificationHash"),
        "feature_hash": answer.get("featureHash"),
        "name": attributes.element_name(answer.get("featureHash"))
        or next((c.get("name") for c in answers if isinstance(c, dict)), None),
        "shape": None,
        "bbox_x": None,
        "bbox_y": None,
        "bbox_w": None,
        "bbox_h": None,
        "attributes": _json(attributes.static_answers(answer.get("featureHash"), answers)),
        **_provenance(answer),
    }


def _range_object_records(
    row: dict[str, Any], answer: dict[str, Any], attributes: AttributeIndex
) -> Iterator[dict[str, Any]]:
    """An audio or text object: it lives only in `object_answers`, with ranges (ms or characters)."""
    data_hash = str(row.get("data_hash"))
    for start, end in _ranges(answer):
        yield _object_record(row, data_hash, start, answer, attributes, frame_end=end)


def flat_records(row: dict[str, Any], attributes: AttributeIndex) -> Iterator[dict[str, Any]]:
    """The table rows of one Encord label row."""
    on_frames: set[str] = set()
    for frame in iter_frames(row):
        for obj in frame.objects:
            on_frames.add(str(obj.get("objectHash")))
            yield _object_record(row, str(frame.unit.get("data_hash")), frame.frame, obj, attributes)
    for object_hash, answer in (row.get("object_answers") or {}).items():
        if isinstance(answer, dict) and "range" in answer and str(object_hash) not in on_frames:
            yield from _range_object_records(row, answer, attributes)
    for answer in (row.get("classification_answers") or {}).values():
        if isinstance(answer, dict):
            yield from _classification_records(row, answer, attributes)


class TableWriter(Protocol):
    path: Path
    rows: int

    def add_row(self, row: dict[str, Any]) -> None: ...

    def close(self) -> Path: ...


class ParquetTableWriter:
    """Parquet file written one row group at a time."""

    def __init__(self, path: Path, ontology: dict[str, Any], row_group_size: int = 10_000) -> None:
        self.path = path
        self._attributes = AttributeIndex(ontology)
        self.rows = 0
        self._row_group_size = row_group_size
        self._buffer: list[dict[str, Any]] = []
        self._writer = pq.ParquetWriter(str(path), SCHEMA, compression="zstd")

    def add_row(self, row: dict[str, Any]) -> None:
        for record in flat_records(row, self._attributes):
            self._buffer.append(record)
            if len(self._buffer) >= self._row_group_size:
                self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._writer.write_table(pa.Table.from_pylist(self._buffer, schema=SCHEMA))
            self.rows += len(self._buffer)
            self._buffer = []

    def close(self) -> Path:
        self._flush()
        self._writer.close()
        return self.path


class CsvTableWriter:
    """The same table as CSV (header row, RFC 4180 quoting)."""

    def __init__(self, path: Path, ontology: dict[str, Any]) -> None:
        self.path = path
        self._attributes = AttributeIndex(ontology)
        self.rows = 0
        self._fh = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._fh, fieldnames=COLUMNS)
        self._writer.writeheader()

    def add_row(self, row: dict[str, Any]) -> None:
        for record in flat_records(row, self._attributes):
            self._writer.writerow(record)
            self.rows += 1

    def close(self) -> Path:
        self._fh.close()
        return self.path
