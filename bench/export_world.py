"""A labelled Encord project of any size in the emulator, for the export benchmark.

The first rows go the real way: PNGs in moto, a folder registered by an upload job, a dataset linked through
the SDK, an ontology and project seeded, and TEMPLATES label rows made and saved with the SDK (boxes with a
radio answer, polygons, polylines, points, a bitmask, a skeleton and a checklist classification). The other
rows are copies of those documents written into the emulator's store (new item uuids, names, label hashes
and edit times), then linked through the SDK, so the emulator serves them exactly like the originals.
"""

from __future__ import annotations

import copy
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import numpy as np
from encord.objects import Classification, LabelRowV2, Object
from encord.objects.attributes import ChecklistAttribute, RadioAttribute
from encord.objects.coordinates import (
    BitmaskCoordinates,
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    PolylineCoordinates,
    SkeletonCoordinate,
    SkeletonCoordinates,
)
from encord.orm.dataset import StorageLocation
from encord.project import Project
from encord.user_client import EncordUserClient
from encord_emulator.core.store import Store
from encord_emulator.testing import EmulatorProcess
from PIL import Image

TEMPLATES = 4
WIDTH, HEIGHT = 96, 72
ITEM_KIND, LABEL_KIND = "item", "label_row"
ONTOLOGY: dict[str, Any] = {
    "objects": [
        {"name": "car", "shape": "bounding_box", "attributes": [
            {"name": "colour", "type": "radio", "options": ["red", "blue"]}]},
        {"name": "road", "shape": "polygon"},
        {"name": "lane", "shape": "polyline"},
        {"name": "pin", "shape": "point"},
        {"name": "pose", "shape": "skeleton", "keypoints": ["head", "hip", "foot"], "edges": [["head", "hip"]]},
        {"name": "sky", "shape": "bitmask"},
    ],
    "classifications": [{"name": "tags", "type": "checklist", "options": ["night", "blurry"]}],
}  # fmt: skip


@dataclass
class ExportWorld:
    emulator: EmulatorProcess
    client: EncordUserClient
    project_hash: str
    rows: int

    def project(self) -> Project:
        return self.client.get_project(self.project_hash)


def _png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (WIDTH, HEIGHT), (shade, 90, 150)).save(buffer, format="PNG")
    return buffer.getvalue()


def _register_templates(client: EncordUserClient, emulator: EmulatorProcess, moto_url: str) -> str:
    """TEMPLATES images registered by an upload job; returns the folder uuid."""
    bucket = f"export-bench-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    s3.create_bucket(Bucket=bucket)
    for index in range(TEMPLATES):
        s3.put_object(Bucket=bucket, Key=f"img{index}.png", Body=_png(40 * index))
    emulator.admin_post(
        "/admin/seed", {"integrations": [{"title": bucket, "provider": "aws", "endpoint_url": moto_url}]}
    )
    integration = next(i for i in client.get_cloud_integrations() if i.title == bucket)
    folder = client.create_storage_folder(f"folder-{bucket}")
    manifest = {
        "images": [
            {"objectUrl": f"s3://{bucket}/img{i}.png", "title": f"img{i}.png"} for i in range(TEMPLATES)
        ]
    }
    job = folder.add_private_data_to_folder_start(integration.id, manifest, ignore_errors=False)
    result = folder.add_private_data_to_folder_get_result(job, timeout_seconds=60)
    if result.status.value != "DONE":
        raise RuntimeError(f"template registration failed: {result}")
    return str(folder.uuid)


def _clone_items(store: Store, folder_uuid: str, rows: int) -> list[str]:
    """Copies of the template items up to `rows` items in the folder; returns every item uuid."""
    templates = store.query(ITEM_KIND, parent=folder_uuid)
    uuids = [t["uuid"] for t in templates]
    copies: dict[str, dict[str, Any]] = {}
    for index in range(len(templates), rows):
        item = copy.deepcopy(templates[index % len(templates)])
        item["uuid"] = str(uuid.uuid4())
        item["name"] = f"img{index:07d}.png"
        item["dedup_key"] = f"{item['dedup_key']}#{index}"
        copies[item["uuid"]] = item
        uuids.append(item["uuid"])
        if len(copies) >= 5_000:
            store.put_many(ITEM_KIND, copies)
            copies = {}
    store.put_many(ITEM_KIND, copies)
    return uuids


def _label_template(project: Project, row: LabelRowV2, index: int) -> None:
    ontology = project.ontology_structure

    def add(name: str, coordinates: Any) -> Any:
        instance = ontology.get_child_by_title(name, type_=Object).create_instance()
        instance.set_for_frames(coordinates, frames=0)
        row.add_object_instance(instance)
        return instance

    car = ontology.get_child_by_title("car", type_=Object)
    colour = car.get_child_by_title("colour", type_=RadioAttribute)
    for k in range(2 + index % 2):
        box = add("car", BoundingBoxCoordinates(height=0.2, width=0.2, top_left_x=0.1 * k, top_left_y=0.1))
        box.set_answer(colour.get_child_by_title("red" if k % 2 else "blue"), attribute=colour)
    add(
        "road",
        PolygonCoordinates([PointCoordinate(0.1, 0.6), PointCoordinate(0.5, 0.6), PointCoordinate(0.3, 0.9)]),
    )
    add(
        "lane",
        PolylineCoordinates(
            [PointCoordinate(0.2, 0.2), PointCoordinate(0.8, 0.2), PointCoordinate(0.9, 0.4)]
        ),
    )
    add("pin", PointCoordinate(0.5, 0.5))
    template = ontology.skeleton_templates["pose"]
    nodes = [SkeletonCoordinate(x=0.4 + 0.1 * i, y=0.3, name=n.name, feature_hash=n.feature_hash)
             for i, n in enumerate(template.skeleton.values())]  # fmt: skip
    add("pose", SkeletonCoordinates(values=nodes, name="pose"))
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[: HEIGHT // 3, : WIDTH // 2] = True
    add("sky", BitmaskCoordinates(mask))
    tags = ontology.get_child_by_title("tags", type_=Classification)
    checklist = tags.attributes[0]
    assert isinstance(checklist, ChecklistAttribute)
    instance = tags.create_instance()
    instance.set_for_frames(frames=0)
    instance.set_answer([checklist.get_child_by_title("night")], attribute=checklist)
    row.add_classification_instance(instance)


def _clone_labels(store: Store, project_hash: str, epoch: datetime) -> int:
    """A label row per data row without one, copied from the SDK-made templates; returns the total."""
    labels = store.query(LABEL_KIND, project_hash=project_hash)
    templates = [label for label in labels if label.get("content")]
    have = {label["data_hash"] for label in labels}
    data_hashes = [d for d in _data_hashes(store, templates[0]["dataset_hash"]) if d not in have]
    batch: dict[str, dict[str, Any]] = {}
    for index, data_hash in enumerate(data_hashes):
        template = templates[index % len(templates)]
        label = copy.deepcopy(template)
        label["label_hash"] = str(uuid.uuid4())
        label["data_hash"] = data_hash
        stamp = (epoch + timedelta(milliseconds=index)).isoformat()
        label["created_at"] = label["last_edited_at"] = stamp
        label["content"]["units"] = {data_hash: next(iter(template["content"]["units"].values()))}
        batch[label["label_hash"]] = label
        if len(batch) >= 5_000:
            store.put_many(LABEL_KIND, batch)
            batch = {}
    store.put_many(LABEL_KIND, batch)
    return len(have) + len(data_hashes)


def _data_hashes(store: Store, dataset_hash: str) -> list[str]:
    return [row["data_hash"] for row in store.query("data_row", dataset_hash=dataset_hash)]


def build_world(emulator: EmulatorProcess, moto_url: str, rows: int) -> ExportWorld:
    """A project of `rows` labelled images in `emulator` (already started)."""
    client = emulator.client()
    folder_uuid = _register_templates(client, emulator, moto_url)
    store = Store(emulator.data_dir)
    try:
        item_uuids = _clone_items(store, folder_uuid, rows)
        suffix = uuid.uuid4().hex[:8]
        created = client.create_dataset(f"ds-{suffix}", StorageLocation.AWS, create_backing_folder=False)
        dataset = client.get_dataset(created.dataset_hash, include_data_rows=False)
        for start in range(0, len(item_uuids), 10_000):
            dataset.link_items([uuid.UUID(u) for u in item_uuids[start : start + 10_000]])
        project_hash = str(uuid.uuid4())
        emulator.admin_post("/admin/seed", {
            "ontologies": [{"title": f"onto-{suffix}", **ONTOLOGY}],
            "projects": [{"title": f"export-bench-{suffix}", "project_hash": project_hash,
                          "ontology": f"onto-{suffix}", "datasets": [str(created.dataset_hash)]}],
        })  # fmt: skip
        project = client.get_project(project_hash)
        templates = project.list_label_rows_v2(data_title_like="img_.png")
        with project.create_bundle() as bundle:
            for row in templates:
                row.initialise_labels(bundle=bundle)
        for index, row in enumerate(templates):
            _label_template(project, row, index)
        with project.create_bundle() as bundle:
            for row in templates:
                row.save(bundle=bundle)
        total = _clone_labels(store, project_hash, datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        store.close()
    return ExportWorld(emulator, client, project_hash, total)
