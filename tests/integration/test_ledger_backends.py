"""The ledger on every real backend (moto S3, fake-gcs-server, Azurite, a local directory): compaction deletes
superseded files by the store's own LastModified, torn files are skipped and quarantined."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState
from encord_provider.storage.base import ObjectStore

from tests.integration.test_storage_contract import check_delete

PREFIX = "encord/ledger/pipe"
BACKENDS = ["s3", "gcs", "azure", "local"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    name = f"ledger-{uuid.uuid4().hex[:12]}"
    if request.param == "s3":
        from encord_provider.storage.s3 import S3Store

        s3_client: Any = request.getfixturevalue("s3_client")
        s3_client.create_bucket(Bucket=name)
        return S3Store(name, client=s3_client)
    if request.param == "gcs":
        from encord_provider.storage.gcs import GCSStore

        gcs_client: Any = request.getfixturevalue("gcs_client")
        gcs_client.create_bucket(name)
        return GCSStore(name, client=gcs_client)
    if request.param == "azure":
        from encord_provider.storage.azure import AzureBlobStore

        service: Any = request.getfixturevalue("blob_service")
        service.create_container(name)
        return AzureBlobStore(name, service=service)
    from encord_provider.storage.local import LocalStore

    return LocalStore(tmp_path / name)


def _keys(store: ObjectStore, folder: str) -> list[str]:
    return [r.key for r in store.list_objects(prefix=f"{PREFIX}/{folder}/")]


def _linked(key: str) -> LedgerRecord:
    return LedgerRecord(key=key, etag="e", state=ObjectState.LINKED, item_uuid=f"u-{key}")


def test_delete_is_part_of_every_store(store: ObjectStore) -> None:
    check_delete(store)  # type: ignore[arg-type]


def test_compaction_deletes_superseded_files(store: ObjectStore) -> None:
    ledger = Ledger(store, PREFIX).load()
    for i in range(3):
        ledger.write([_linked(f"a{i}.jpg")])
    assert ledger.compact().deleted == []  # default grace: the store's clock says all of it is young
    ledger.write([_linked("b.jpg")])
    assert ledger.compact().deleted == []
    assert len(_keys(store, "segments")) == 4 and len(_keys(store, "snapshots")) == 2

    ledger.write([_linked("c.jpg")])
    before = _keys(store, "segments")
    deleted = ledger.compact(grace_seconds=0).deleted  # no grace: the previous snapshot is old enough
    assert sorted(k for k in deleted if "/segments/" in k) == sorted(before)[:4]
    assert len([k for k in deleted if "/snapshots/" in k]) == 1
    ledger.write([_linked("d.jpg")])
    ledger.compact(grace_seconds=0)
    assert len(_keys(store, "segments")) == 1 and len(_keys(store, "snapshots")) == 2
    assert Ledger(store, PREFIX).load().counts() == {"linked": 6}


def test_a_torn_file_is_skipped_then_quarantined(store: ObjectStore) -> None:
    ledger = Ledger(store, PREFIX).load()
    ledger.write([_linked("a.jpg")])
    torn = ledger.write([_linked("b.jpg")])
    assert torn is not None
    data = store.read_bytes(torn)
    store.write_bytes(torn, data[: len(data) - 5])  # a truncated object

    loaded = Ledger(store, PREFIX).load()
    assert loaded.counts() == {"linked": 1}
    assert [(p.uri, p.kind) for p in loaded.problems] == [(store.uri(torn), "torn")]
    done = loaded.compact()
    assert [store.read_bytes(k) for k in done.quarantined] == [data[: len(data) - 5]]
    assert Ledger(store, PREFIX).load().problems == []
