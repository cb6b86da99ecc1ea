"""Shared set-up for the project / workflow / label emulator tests (no tests in here).

``build_world`` goes the real way: PNGs into moto, an AWS integration seeded into the emulator, a
folder + upload job + dataset + link_items through the SDK, then an ontology and a workflow project
seeded through ``POST /admin/seed`` with the dataset attached.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
from encord.orm.dataset import StorageLocation
from encord.project import Project
from encord.user_client import EncordUserClient
from encord_emulator.testing import EmulatorProcess
from PIL import Image

ONTOLOGY_SPEC: dict[str, Any] = {
    "objects": [
        {
            "name": "car",
            "shape": "bounding_box",
            "attributes": [{"name": "colour", "type": "radio", "options": ["red", "blue"]}],
        },
        {"name": "road", "shape": "polygon"},
        {"name": "lane", "shape": "polyline"},
        {"name": "light", "shape": "point"},
        {
            "name": "pose",
            "shape": "skeleton",
            "keypoints": ["head", "hip", "foot"],
            "edges": [["head", "hip"]],
        },
        {"name": "mask", "shape": "bitmask", "attributes": [{"name": "note", "type": "text"}]},
    ],
    "classifications": [
        {"name": "weather", "type": "radio", "options": ["sunny", "rainy"], "required": True},
        {"name": "tags", "type": "checklist", "options": ["night", "blurry"]},
    ],
}

AGENT_WORKFLOW: list[dict[str, Any]] = [
    {"title": "Start", "type": "start", "to": "Pre-label"},
    {"title": "Pre-label", "type": "agent", "pathways": {"labelled": "Split", "skip": "Complete"}},
    {"title": "Split", "type": "router", "routes": [{"to": "Annotate", "percentage": 100}]},
    {"title": "Annotate", "type": "annotate", "to": "Review"},
    {"title": "Review", "type": "review", "approve": "Complete", "reject": "Annotate"},
    {"title": "Complete", "type": "complete"},
]


@dataclass
class World:
    client: EncordUserClient
    emulator: EmulatorProcess
    project_hash: str
    dataset_hash: str
    item_uuids: list[str]
    titles: list[str]
    sizes: dict[str, tuple[int, int]]

    def project(self) -> Project:
        return self.client.get_project(self.project_hash)


def png_bytes(width: int, height: int, shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 80, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def register_images(
    client: EncordUserClient, emulator: EmulatorProcess, moto_url: str, count: int
) -> tuple[list[str], list[str], dict[str, tuple[int, int]]]:
    """Upload ``count`` PNGs to a fresh moto bucket and register them into a new folder."""
    bucket = f"imgs-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=bucket)
    titles, sizes = [], {}
    for index in range(count):
        title = f"img{index:03d}.png"
        width, height = 64 + 16 * index, 48 + 8 * index
        s3.put_object(Bucket=bucket, Key=title, Body=png_bytes(width, height, index * 20 % 255))
        titles.append(title)
        sizes[title] = (width, height)
    integration_title = f"s3-{bucket}"
    emulator.admin_post(
        "/admin/seed",
        {"integrations": [{"title": integration_title, "provider": "aws", "endpoint_url": moto_url}]},
    )
    integration = next(i for i in client.get_cloud_integrations() if i.title == integration_title)
    folder = client.create_storage_folder(f"folder-{bucket}")
    manifest = {"images": [{"objectUrl": f"s3://{bucket}/{title}", "title": title} for title in titles]}
    job = folder.add_private_data_to_folder_start(integration.id, manifest, ignore_errors=False)
    result = folder.add_private_data_to_folder_get_result(job, timeout_seconds=60)
    assert result.status.value == "DONE", result
    by_name = {item.name: str(item.uuid) for item in folder.list_items()}
    return [by_name[title] for title in titles], titles, sizes


def register_image_and_video(
    client: EncordUserClient, emulator: EmulatorProcess, moto_url: str, width: int, height: int
) -> dict[str, str]:
    """`street.png` and a 2 s, 10 fps `clip.mp4` (its videoMetadata given) in a new folder: {name: item uuid}."""
    bucket = f"media-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="street.png", Body=png_bytes(width, height, 30))
    s3.put_object(Bucket=bucket, Key="clip.mp4", Body=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    title = f"s3-{bucket}"
    emulator.admin_post(
        "/admin/seed", {"integrations": [{"title": title, "provider": "aws", "endpoint_url": moto_url}]}
    )
    integration = next(i for i in client.get_cloud_integrations() if i.title == title)
    folder = client.create_storage_folder(f"folder-{bucket}")
    video_metadata = {"fps": 10.0, "duration": 2.0, "width": width, "height": height, "file_size": 80,
                      "mime_type": "video/mp4"}  # fmt: skip
    manifest = {
        "images": [{"objectUrl": f"s3://{bucket}/street.png", "title": "street.png"}],
        "videos": [
            {"objectUrl": f"s3://{bucket}/clip.mp4", "title": "clip.mp4", "videoMetadata": video_metadata}
        ],
    }
    job = folder.add_private_data_to_folder_start(integration.id, manifest, ignore_errors=False)
    assert folder.add_private_data_to_folder_get_result(job, timeout_seconds=60).status.value == "DONE"
    return {item.name: str(item.uuid) for item in folder.list_items()}


def project_over_items(
    client: EncordUserClient, emulator: EmulatorProcess, item_uuids: list[str], ontology: dict[str, Any]
) -> Project:
    """A dataset linking the items and a seeded default-workflow project over it with `ontology` (a seed spec)."""
    suffix = uuid.uuid4().hex[:8]
    dataset = client.create_dataset(f"ds-{suffix}", StorageLocation.AWS, create_backing_folder=False)
    client.get_dataset(dataset.dataset_hash, include_data_rows=False).link_items(
        [uuid.UUID(u) for u in item_uuids]
    )
    project_hash = str(uuid.uuid4())
    emulator.admin_post("/admin/seed", {
        "ontologies": [{"title": f"onto-{suffix}", **ontology}],
        "projects": [{"title": f"project-{suffix}", "project_hash": project_hash, "ontology": f"onto-{suffix}",
                      "datasets": [dataset.dataset_hash]}],
    })  # fmt: skip
    return client.get_project(project_hash)


def build_world(
    client: EncordUserClient,
    emulator: EmulatorProcess,
    moto_url: str,
    *,
    images: int = 3,
    workflow: list[dict[str, Any]] | None = None,
    link: bool = True,
) -> World:
    item_uuids, titles, sizes = register_images(client, emulator, moto_url, images)
    suffix = uuid.uuid4().hex[:8]
    created = client.create_dataset(f"ds-{suffix}", StorageLocation.AWS, create_backing_folder=False)
    dataset_hash = str(created.dataset_hash)
    if link:
        client.get_dataset(dataset_hash, include_data_rows=False).link_items(
            [uuid.UUID(u) for u in item_uuids]
        )
    project_hash = str(uuid.uuid4())
    project_entry: dict[str, Any] = {
        "title": f"project-{suffix}",
        "project_hash": project_hash,
        "ontology": f"onto-{suffix}",
        "datasets": [dataset_hash],
    }
    if workflow is not None:
        project_entry["workflow"] = workflow
    emulator.admin_post(
        "/admin/seed",
        {"ontologies": [{"title": f"onto-{suffix}", **ONTOLOGY_SPEC}], "projects": [project_entry]},
    )
    return World(client, emulator, project_hash, dataset_hash, item_uuids, titles, sizes)
