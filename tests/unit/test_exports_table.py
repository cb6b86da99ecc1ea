"""Flat label table (Parquet row groups and CSV) and the chunked Encord JSON writer."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest
from encord_provider.exports.attributes import AttributeIndex
from encord_provider.exports.jsonl import ChunkedJsonlWriter
from encord_provider.exports.synthetic import synthetic_label_row, synthetic_ontology
from encord_provider.exports.table import COLUMNS, CsvTableWriter, ParquetTableWriter, flat_records

ATTRIBUTES = AttributeIndex(synthetic_ontology())


def test_flat_records_cover_objects_and_classifications() -> None:
    records = list(flat_records(synthetic_label_row(0), ATTRIBUTES))
    kinds = [r["kind"] for r in records]
    assert kinds.count("object") == 5 and kinds.count("classification") == 1
    box = next(r for r in records if r["shape"] == "bounding_box")
    assert (box["bbox_x"], box["bbox_w"]) == pytest.approx((0.1, 0.3)) and json.loads(box["attributes"]) == {
        "colour": "red"
    }
    mask = next(r for r in records if r["shape"] == "bitmask")
    assert mask["bbox_x"] is None
    cls = next(r for r in records if r["kind"] == "classification")
    assert json.loads(cls["attributes"]) == {"weather": "sunny"} and cls["name"] == "weather"
    assert set(box) == set(COLUMNS)


def test_parquet_written_in_row_groups(tmp_path: Path) -> None:
    writer = ParquetTableWriter(tmp_path / "labels.parquet", synthetic_ontology(), row_group_size=10)
    for i in range(9):
        writer.add_row(synthetic_label_row(i))
    writer.close()
    meta = pq.ParquetFile(tmp_path / "labels.parquet").metadata
    assert meta.num_rows == 9 * 6 == writer.rows
    assert meta.num_row_groups == 6  # 54 rows in groups of 10
    table = pq.read_table(tmp_path / "labels.parquet")
    assert table.column_names == COLUMNS
    assert table.column("kind").to_pylist().count("classification") == 9


def test_csv_table(tmp_path: Path) -> None:
    writer = CsvTableWriter(tmp_path / "labels.csv", synthetic_ontology())
    for i in range(3):
        writer.add_row(synthetic_label_row(i))
    writer.close()
    with (tmp_path / "labels.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 18 == writer.rows and rows[0]["label_hash"] == synthetic_label_row(0)["label_hash"]


def test_jsonl_chunks_round_trip_into_label_row_v2(tmp_path: Path) -> None:
    from encord.objects import LabelRowV2
    from encord.objects.ontology_structure import OntologyStructure
    from encord.orm.storage import CustomerProvidedImageMetadata

    writer = ChunkedJsonlWriter(tmp_path, rows_per_file=2)
    for i in range(5):
        writer.add_row(synthetic_label_row(i))
    paths = writer.close()
    assert [p.name for p in paths] == ["labels-00000.jsonl", "labels-00001.jsonl", "labels-00002.jsonl"]
    lines = [json.loads(line) for p in paths for line in p.read_text().splitlines()]
    assert [r["label_hash"] for r in lines] == [synthetic_label_row(i)["label_hash"] for i in range(5)]
    ontology = SimpleNamespace(structure=OntologyStructure.from_dict(synthetic_ontology()))
    meta = CustomerProvidedImageMetadata(mime_type="image/jpeg", width=64, height=48, file_size=1)
    row = LabelRowV2.from_media_metadata(ontology, meta)  # type: ignore[arg-type]
    row.from_labels_dict(lines[4])
    assert len(row.get_object_instances()) == 5 and len(row.get_classification_instances()) == 1


def test_empty_jsonl_still_writes_one_chunk(tmp_path: Path) -> None:
    paths = ChunkedJsonlWriter(tmp_path).close()
    assert len(paths) == 1 and paths[0].read_text() == ""


def _checklist_rows() -> list[dict[str, object]]:
    from tests.unit.export_fixtures import answer, image_row, labelled_object, tags_classification, ticks

    boxes = [
        labelled_object("car", "bounding_box", h, "boundingBox", {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2})
        for h in ("one", "two", "none")
    ]
    answers = {
        "one": {"objectHash": "one", "classifications": [answer("damage", "att-damage", ticks("dent"))]},
        "two": {"objectHash": "two", "classifications": [answer("damage", "att-damage", ticks("dent", "scratch"))]},
    }  # fmt: skip
    classifications = {
        **tags_classification("c-one", [[0, 0]], "night"),
        **tags_classification("c-none", [[0, 0]]),
    }
    return [image_row(boxes, answers, classifications)]


@pytest.mark.parametrize("writer_kind", ["parquet", "csv"])
def test_checklist_answers_are_always_lists_in_the_table(tmp_path: Path, writer_kind: str) -> None:
    from tests.unit.export_fixtures import rich_ontology

    if writer_kind == "parquet":
        writer: ParquetTableWriter | CsvTableWriter = ParquetTableWriter(
            tmp_path / "t.parquet", rich_ontology()
        )
    else:
        writer = CsvTableWriter(tmp_path / "t.csv", rich_ontology())
    for row in _checklist_rows():
        writer.add_row(row)
    path = writer.close()
    if writer_kind == "parquet":
        records = pq.read_table(path).to_pylist()
    else:
        with path.open() as fh:
            records = list(csv.DictReader(fh))
    attributes = {r["instance_hash"]: json.loads(str(r["attributes"])) for r in records}
    assert attributes["one"]["damage"] == ["dent"]
    assert attributes["two"]["damage"] == ["dent", "scratch"]
    assert attributes["none"]["damage"] == []
    assert attributes["c-one"] == {"tags": ["night"]} and attributes["c-none"] == {"tags": []}
    names = {r["instance_hash"]: r["name"] for r in records if r["kind"] == "classification"}
    assert names == {"c-one": "tags", "c-none": "tags"}


def test_classification_ranges_become_one_row_each() -> None:
    from tests.unit.export_fixtures import frames_row, rich_ontology, tags_classification

    row = frames_row("video", "video/mp4", {}, tags_classification("c1", [[0, 4], [10, 12]], "night"))
    records = [r for r in flat_records(row, AttributeIndex(rich_ontology())) if r["kind"] == "classification"]
    assert [(r["frame"], r["frame_end"]) for r in records] == [(0, 4), (10, 12)]


def test_text_and_audio_objects_without_frames_get_a_row_per_range() -> None:
    from tests.unit.export_fixtures import STAMP, rich_ontology

    quote = {"objectHash": "q1", "featureHash": "obj-quote", "name": "quote", "shape": "text", "value": "quote",
             "color": "#D33115", "range": [[5, 12], [40, 44]], "createdBy": "a@b.c", "createdAt": STAMP,
             "lastEditedBy": None, "lastEditedAt": STAMP, "manualAnnotation": True, "classifications": []}  # fmt: skip
    row = {
        "label_hash": "l-text", "data_hash": "d-text", "data_title": "notes.txt", "data_type": "plain_text",
        "data_units": {"d-text": {"data_hash": "d-text", "data_title": "notes.txt", "data_type": "text/plain",
                                  "data_sequence": 0, "labels": {}}},
        "object_answers": {"q1": quote}, "classification_answers": {}, "object_actions": {},
    }  # fmt: skip
    records = list(flat_records(row, AttributeIndex(rich_ontology())))
    assert [(r["kind"], r["shape"], r["frame"], r["frame_end"]) for r in records] == [
        ("object", "text", 5, 12),
        ("object", "text", 40, 44),
    ]
    assert records[0]["created_by"] == "a@b.c" and records[0]["name"] == "quote"
