"""A local directory (`source.cloud: local`) onboarded by `encord_ingest__<name>`: every data type uploaded
through the SDK's `StorageFolder` upload calls into the Encord emulator's hosted storage.

One DAG run uploads a directory holding every data type (module fixture); a test per type then checks its
items: in the folder and the dataset, with the bytes served back through signed URLs identical to the files.
A second run uploads nothing, and both runs keep the exactly-once invariants.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml
from encord.orm.storage import StorageItemType

from tests.dags.test_ingest_support import emulator_store, ledger_records, run_dag, task_states, xcom
from tests.ingest_invariants import check_exactly_once
from tests.services import reset_moto

pytestmark = pytest.mark.timeout(400)
DAG_ID = "encord_ingest__local_scans"
NIFTI = b"\x1f\x8b\x08\x00" + b"\x00" * 64


def _files() -> dict[str, bytes]:
    from demo.media import dicom_series, image_bytes, mp4_bytes, pdf_bytes, wav_bytes

    files = {
        "in/photos/a.jpg": image_bytes(16, 12, (200, 0, 0)),
        "in/photos/b.png": image_bytes(8, 8, (0, 200, 0), "PNG"),
        "in/videos/clip.mp4": mp4_bytes(),
        "in/audio/tone.wav": wav_bytes(),
        "in/nifti/brain.nii.gz": NIFTI,
        "in/docs/report.pdf": pdf_bytes(),
        "in/text/notes.txt": b"field notes\n",
        "in/archive.zip": b"PK\x03\x04",  # no data type: rejected with a reason
    }
    for index in range(2):
        files[f"in/groups/views/{index}.jpg"] = image_bytes(10, 10, (0, 0, 50 * index))
    for index in range(3):
        files[f"in/sequences/walk/{index:04d}.jpg"] = image_bytes(12, 8, (40 * index, 40, 0))
    for index, data in enumerate(dicom_series(slices=3)):
        files[f"in/ct/series1/s_{index}.dcm"] = data
    return files


# data type -> (item type, the files behind its one item, in order)
EXPECTED: dict[str, tuple[StorageItemType, list[str]]] = {
    "image": (StorageItemType.IMAGE, ["in/photos/a.jpg"]),
    "video": (StorageItemType.VIDEO, ["in/videos/clip.mp4"]),
    "audio": (StorageItemType.AUDIO, ["in/audio/tone.wav"]),
    "nifti": (StorageItemType.NIFTI, ["in/nifti/brain.nii.gz"]),
    "pdf": (StorageItemType.PDF, ["in/docs/report.pdf"]),
    "text": (StorageItemType.PLAIN_TEXT, ["in/text/notes.txt"]),
    "image_group": (StorageItemType.IMAGE_GROUP, [f"in/groups/views/{i}.jpg" for i in range(2)]),
    "image_sequence": (StorageItemType.IMAGE_SEQUENCE, [f"in/sequences/walk/{i:04d}.jpg" for i in range(3)]),
    "dicom": (StorageItemType.DICOM_SERIES, [f"in/ct/series1/s_{i}.dcm" for i in range(3)]),
}


@dataclass
class LocalRun:
    config: dict[str, Any]
    root: Path
    files: dict[str, bytes]
    first: Any
    second: Any
    items_after_first: dict[str, Any]  # item uuid -> item
    slots_after_first: int
    slots_after_second: int
    client: Any


def _config(root: Path) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    return {
        "name": "local_scans",
        "source": {"cloud": "local", "path": str(root), "prefix": "in/"},
        "encord_conn_id": "encord_test",
        "folder": {"name": f"local-{tag}"},
        "datasets": [{"title": f"local-dataset-{tag}"}],
        "chunking": {
            "max_entries": 4,
            "image_modes": [
                {"match": "in/groups/**", "mode": "group"},
                {"match": "in/sequences/**", "mode": "sequence"},
            ],
        },  # fmt: skip
        "staging": {"uri": "s3://staging/encord", "conn_id": "aws_test"},
        "task_retries": 0,
    }


def _slots(emulator: Any) -> int:
    """Signed upload URLs the emulator handed out (one per uploaded file)."""
    store = emulator_store(emulator)
    try:
        return len(store.query("upload_slot"))
    finally:
        store.close()


@pytest.fixture(scope="module")
def local_run(
    tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str, encord_emulator: Any
) -> Iterator[LocalRun]:
    reset_moto(moto_endpoint)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")  # fmt: skip
    s3.create_bucket(Bucket="staging")
    root = tmp_path_factory.mktemp("scans")
    files = _files()
    for key, data in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)
    config = _config(root)
    pipelines = root.parent / f"{root.name}-pipelines.yaml"
    pipelines.write_text(yaml.safe_dump({"pipelines": [config], "projects": []}), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENCORD_PIPELINES_FILE", str(pipelines))
        client = encord_emulator.client()
        first = run_dag(DAG_ID)
        assert first.state == "success", task_states(first)
        folder = client.get_storage_folder(uuid.UUID(xcom(first, "prepare")["folder_uuid"]))
        items = {str(item.uuid): item for item in folder.list_items()}
        slots_first = _slots(encord_emulator)
        second = run_dag(DAG_ID)
        assert second.state == "success", task_states(second)
        yield LocalRun(
            config, root, files, first, second, items, slots_first, _slots(encord_emulator), client
        )


def _item_of(run: LocalRun, data_type: str) -> Any:
    records = ledger_records(run.config)
    item_type, keys = EXPECTED[data_type]
    uuids = {records[key].item_uuid for key in keys}
    assert len(uuids) == 1, f"{data_type}: its files map to items {uuids}"
    item = run.items_after_first[str(uuids.pop())]
    assert item.item_type == item_type
    return item


def _download(url: str | None) -> bytes:
    assert url, "no signed URL"
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return response.content


@pytest.mark.parametrize("data_type", list(EXPECTED))
def test_each_data_type_is_uploaded_with_its_bytes(local_run: LocalRun, data_type: str) -> None:
    item = _item_of(local_run, data_type)
    _, keys = EXPECTED[data_type]
    if len(keys) == 1:
        fresh = local_run.client.get_storage_item(item.uuid, sign_url=True)
        served = [_download(fresh.get_signed_url())]
    else:
        served = [_download(child.get_signed_url()) for child in item.get_child_items(get_signed_urls=True)]
    assert served == [local_run.files[key] for key in keys]
    (dataset_hash,) = xcom(local_run.first, "prepare")["dataset_hashes"]
    rows = [
        row
        for row in local_run.client.get_dataset(dataset_hash).data_rows
        if row.backing_item_uuid == item.uuid
    ]
    assert len(rows) == 1
    if len(keys) == 1:  # the data row's file link serves the same bytes
        rows[0].refetch_data(signed_url=True)
        assert _download(rows[0].signed_url) == local_run.files[keys[0]]


def test_every_file_is_accounted_for_and_a_rerun_uploads_nothing(local_run: LocalRun) -> None:
    records = ledger_records(local_run.config)
    assert records["in/archive.zip"].state == "rejected" and records["in/archive.zip"].error
    assert len(local_run.items_after_first) == len(EXPECTED) + 1  # b.png is a second image
    assert local_run.slots_after_first == len(local_run.files) - 1  # one signed URL per uploaded file
    assert local_run.slots_after_second == local_run.slots_after_first  # the rerun sent no byte
    register = xcom(local_run.second, "register")
    assert register is None or all(chunk["registered"] == 0 for chunk in register)
    folder = local_run.client.get_storage_folder(uuid.UUID(xcom(local_run.second, "prepare")["folder_uuid"]))
    (dataset_hash,) = xcom(local_run.second, "prepare")["dataset_hashes"]
    tally = check_exactly_once(
        bucket_keys=local_run.files, ledger_records=records, folder_items=list(folder.list_items()),
        dataset_rows={dataset_hash: list(local_run.client.get_dataset(dataset_hash).data_rows)},
    )  # fmt: skip
    assert (tally.registered, tally.rejected, tally.registered_twice, tally.lost) == (
        len(local_run.files) - 1,
        1,
        0,
        0,
    )


def test_a_retry_after_a_kill_mid_upload_finds_the_item_and_uploads_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_client: Any, encord_emulator: Any
) -> None:
    """The register task dies right after Encord registered the first entry, before the ledger knew. The
    retry finds that item by its upload evidence instead of uploading the file again."""
    from encord_provider.encord_api import EncordApi

    from demo.media import image_bytes

    s3_client.create_bucket(Bucket="staging")
    root = tmp_path / "scans"
    files = {f"in/img_{i}.jpg": image_bytes(8, 8, (i, 0, 0)) for i in range(3)}
    for key, data in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)
    config = {**_config(root), "task_retries": 1, "retry_delay_seconds": 1}
    (tmp_path / "pipelines.yaml").write_text(yaml.safe_dump({"pipelines": [config], "projects": []}))
    monkeypatch.setenv("ENCORD_PIPELINES_FILE", str(tmp_path / "pipelines.yaml"))
    real_upload, killed = EncordApi.upload_files, []

    def upload_then_die(self: EncordApi, *args: Any, **kwargs: Any) -> str:
        item = real_upload(self, *args, **kwargs)
        if not killed:
            killed.append(item)
            raise SystemExit("worker killed right after Encord registered the upload")
        return item

    monkeypatch.setattr(EncordApi, "upload_files", upload_then_die)
    slots_before = _slots(encord_emulator)
    dag_run = run_dag(DAG_ID)
    assert dag_run.state == "success", task_states(dag_run)
    (register,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == "register"]
    assert register.try_number == 2
    assert _slots(encord_emulator) - slots_before == len(files)  # the killed upload was not sent again
    client = encord_emulator.client()
    folder = client.get_storage_folder(uuid.UUID(xcom(dag_run, "prepare")["folder_uuid"]))
    records = ledger_records(config)
    assert killed[0] in {r.item_uuid for r in records.values()}
    (dataset_hash,) = xcom(dag_run, "prepare")["dataset_hashes"]
    tally = check_exactly_once(
        bucket_keys=files, ledger_records=records, folder_items=list(folder.list_items()),
        dataset_rows={dataset_hash: list(client.get_dataset(dataset_hash).data_rows)},
    )  # fmt: skip
    assert (tally.registered, tally.registered_twice, tally.lost) == (3, 0, 0)
