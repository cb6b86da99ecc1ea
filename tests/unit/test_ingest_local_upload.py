"""Each entry of a local source uploaded at most once (`ingest.local_upload`), on a real local staging store
and a real source directory; the Encord side is a fake folder that keeps what the SDK calls would upload."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from encord_provider.ingest import local_upload
from encord_provider.ingest.chunks import ChunkPlan, PlannedObject
from encord_provider.ingest.errors import AmbiguousWriteError, UploadRefusedError
from encord_provider.ingest.local_upload import LocalChunkUpload, UploadsInFlight, manifest_entries, upload_id
from encord_provider.ledger import Ledger
from encord_provider.manifests.datatypes import DataType
from encord_provider.storage.local import LocalStore

from tests.unit.ingest_fakes import staging

FILES = {"in/a.jpg": b"jpeg-a", "in/b.jpg": b"jpeg-b", "in/ct/1.dcm": b"slice-1", "in/ct/2.dcm": b"slice-2"}


@dataclass
class FakeHostedFolder:
    """Items uploaded through `upload_files`: uuid -> (title, bytes of each file, client metadata)."""

    items: dict[str, tuple[str, list[bytes], dict[str, Any]]] = field(default_factory=dict)
    fail_next: list[BaseException] = field(default_factory=list)  # raised by the next calls, in order
    lose_after_upload: bool = False  # the item is created, then the call fails ambiguously
    calls: int = 0

    def upload_files(self, folder_uuid: str, data_type: DataType, paths: list[Path], title: str,
                     client_metadata: dict[str, Any]) -> str:  # fmt: skip
        self.calls += 1
        if self.fail_next:
            raise self.fail_next.pop(0)
        item = f"item-{len(self.items)}"
        self.items[item] = (title, [p.read_bytes() for p in paths], client_metadata)
        if self.lose_after_upload:
            self.lose_after_upload = False
            raise AmbiguousWriteError("upload: 502 after the job started; Encord may have carried it out")
        return item

    def upload_evidence(self, folder_uuid: str) -> dict[str, tuple[str, str]]:
        found = {}
        for item, (_, _, metadata) in self.items.items():
            upload = metadata["encord_ingest"]["upload"]
            found[upload["id"]] = (item, upload["token"])
        return found


def _source(tmp_path: Path) -> LocalStore:
    for key, data in FILES.items():
        (tmp_path / "src" / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / key).write_bytes(data)
    return LocalStore(tmp_path / "src")


def _upload(
    tmp_path: Path, api: FakeHostedFolder, settle: float = 60.0, max_attempts: int = 3
) -> LocalChunkUpload:
    source, store = _source(tmp_path), staging(tmp_path)
    url = source.object_url
    manifest = {
        "images": [{"objectUrl": url("in/a.jpg"), "title": "a.jpg", "clientMetadata": {"site": "lab"}},
                   {"objectUrl": url("in/b.jpg"), "title": "b.jpg"}],
        "dicom_series": [{"title": "ct", "objectUrl_1": url("in/ct/2.dcm"), "objectUrl_0": url("in/ct/1.dcm")}],
        "skip_duplicate_urls": True,
    }  # fmt: skip
    store.write_bytes("runs/chunk-00000.json", json.dumps(manifest).encode())
    entries = {"a.jpg": ["in/a.jpg"], "b.jpg": ["in/b.jpg"], "ct": ["in/ct/1.dcm", "in/ct/2.dcm"]}
    plan = ChunkPlan("chunk-00000", store.uri("runs/chunk-00000.json"),
                     {t: [PlannedObject(k, f"etag-{k}", url(k)) for k in keys] for t, keys in entries.items()})  # fmt: skip
    return LocalChunkUpload(
        staging=store, ledger=Ledger(store, "ledger").scan(), api=api, source=source,  # type: ignore[arg-type]
        plan_uri=store.uri("runs/chunk-00000.plan.json"), plan=plan, folder_uuid="folder",
        markers_prefix="local-uploads/p", settle_seconds=settle, max_attempts=max_attempts,
    )  # fmt: skip


def _states(upload: LocalChunkUpload) -> dict[str, str]:
    return {k: str(r.state) for k, r in Ledger(upload.staging, "ledger").load().records.items()}


def test_manifest_entries_keep_types_order_and_metadata() -> None:
    manifest = {"images": [{"objectUrl": "file:///a", "title": "a", "clientMetadata": {"k": 1}}],
                "image_groups": [{"title": "s", "createVideo": True, "objectUrl_10": "file:///f10",
                                  "objectUrl_2": "file:///f2"}, {"title": "g", "createVideo": False, "objectUrl_0": "file:///g"}],
                "nifti": [{"objectUrl": "file:///n.nii", "title": "n.nii"}]}  # fmt: skip
    entries = manifest_entries(manifest)
    assert entries["a"].client_metadata == {"k": 1}
    assert (entries["s"].data_type, entries["s"].urls) == (
        DataType.IMAGE_SEQUENCE,
        ["file:///f2", "file:///f10"],
    )
    assert entries["g"].data_type is DataType.IMAGE_GROUP
    assert entries["n.nii"].data_type is DataType.NIFTI


def test_every_entry_is_uploaded_with_its_files_and_evidence(tmp_path: Path) -> None:
    api = FakeHostedFolder()
    records = _upload(tmp_path, api).run()
    assert {r.key: str(r.state) for r in records} == dict.fromkeys(FILES, "registered")
    by_title = {title: (files, metadata) for title, files, metadata in api.items.values()}
    assert by_title["ct"][0] == [b"slice-1", b"slice-2"]  # slices in manifest order
    assert by_title["a.jpg"][1]["site"] == "lab" and set(by_title["a.jpg"][1]["encord_ingest"]["upload"]) == {
        "id",
        "token",
    }


def test_a_rerun_finds_every_item_and_uploads_nothing(tmp_path: Path) -> None:
    api = FakeHostedFolder()
    _upload(tmp_path, api).run()
    calls = api.calls
    again = _upload(tmp_path, api).run()
    assert api.calls == calls
    assert {str(r.state) for r in again} == {"registered"}  # its own earlier upload (the token matches)


def test_an_item_uploaded_before_the_ledger_knew_is_a_duplicate(tmp_path: Path) -> None:
    api = FakeHostedFolder()
    first = _upload(tmp_path, api)
    first.run()
    for path in (tmp_path / "staging" / "local-uploads").rglob("*.json"):
        path.unlink()  # the markers are lost (a new staging bucket): the folder still knows the files
    calls = api.calls
    records = _upload(tmp_path, api).run()
    assert api.calls == calls
    assert {str(r.state) for r in records} == {"duplicate"} and all(r.item_uuid for r in records)


def test_an_ambiguous_failure_whose_item_exists_is_registered_once(tmp_path: Path) -> None:
    api = FakeHostedFolder(lose_after_upload=True)
    records = _upload(tmp_path, api).run()
    assert {str(r.state) for r in records} == {"registered"}
    assert len(api.items) == 3 and api.calls == 3


def test_an_ambiguous_failure_without_an_item_waits_then_sends_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeHostedFolder(fail_next=[AmbiguousWriteError("502 before the job started")])
    with pytest.raises(UploadsInFlight, match="1 entries may still be registering"):
        _upload(tmp_path, api).run()
    upload = _upload(tmp_path, api)
    assert _states(upload)["in/a.jpg"] == "submitted"
    with pytest.raises(UploadsInFlight):  # still inside the settle time: nothing is sent
        upload.run()
    assert api.calls == 3
    later = datetime.now(UTC) + timedelta(seconds=61)
    monkeypatch.setattr(local_upload, "_now", lambda: later)
    records = _upload(tmp_path, api).run()
    assert {str(r.state) for r in records} == {"registered"} and len(api.items) == 3
    (marker,) = [json.loads(p.read_text()) for p in (tmp_path / "staging").rglob("local-uploads/p/*.json")
                 if json.loads(p.read_text())["title"] == "a.jpg"]  # fmt: skip
    assert marker["attempt"] == 2 and marker["outcome"] == "registered"


def test_a_refused_file_fails_and_is_rejected_after_max_attempts(tmp_path: Path) -> None:
    api = FakeHostedFolder(fail_next=[UploadRefusedError("Encord refused 'a.jpg': not an image")])
    records = {r.key: r for r in _upload(tmp_path, api, max_attempts=1).run()}
    assert str(records["in/a.jpg"].state) == "rejected" and "not an image" in str(records["in/a.jpg"].error)
    assert str(records["in/b.jpg"].state) == "registered"


def test_upload_id_changes_with_the_content_version() -> None:
    one = [PlannedObject("k", "etag-1", "file:///k")]
    assert upload_id(one) == upload_id(list(one)) != upload_id([PlannedObject("k", "etag-2", "file:///k")])
