"""`ingest.plan.plan_run` and the bucket-change rules (`ingest.changes`) on local stores, no Airflow."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from encord_provider.ingest.changes import BucketChanges, apply_policies
from encord_provider.ingest.plan import RunOptions, plan_run
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState
from encord_provider.storage.local import LocalStore

from tests.unit.ingest_fakes import FakeApi, pipeline, staging

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture
def source(tmp_path: Path) -> LocalStore:
    root = tmp_path / "media"
    for name in ("in/a.jpg", "in/b.jpg", "in/c.jpg", "in/doc.pdf", "in/odd.zip", "other/x.jpg"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"%PDF-1.4\n" if name.endswith(".pdf") else JPEG + name.encode())
    return LocalStore(root)


def _plan(tmp_path: Path, source: LocalStore, options: RunOptions | None = None, run_id: str = "run-1",
          **config: object) -> tuple[object, Ledger]:  # fmt: skip
    store = staging(tmp_path)
    ledger = Ledger(store, "ledger").load()
    result = plan_run(pipeline(tmp_path, **config), options or RunOptions(), run_id, source, store, ledger)
    return result, Ledger(store, "ledger").load()


def _settle(ledger: Ledger, *keys: str) -> None:
    """Mark objects linked, as a finished run would."""
    ledger.write([ledger.records[k].moved(ObjectState.LINKED, item_uuid=f"item-{k}") for k in keys])


def test_new_objects_are_planned_in_chunks_and_rejections_recorded(
    tmp_path: Path, source: LocalStore
) -> None:
    result, ledger = _plan(tmp_path, source)
    assert result.planned == 4 and result.entries == 4 and result.rejected == 1  # type: ignore[attr-defined]
    assert len(result.plan_uris) == 2  # type: ignore[attr-defined]  # max_entries: 2
    assert all("/runs/unit/run-1/plan-" in uri and uri.endswith(".plan.json") for uri in result.plan_uris)  # type: ignore[attr-defined]
    states = {k: str(r.state) for k, r in ledger.records.items()}
    assert states == {"in/a.jpg": "pending", "in/b.jpg": "pending", "in/c.jpg": "pending",
                      "in/doc.pdf": "pending", "in/odd.zip": "rejected"}  # fmt: skip
    assert "unsupported" in (ledger.records["in/odd.zip"].error or "")
    assert result.by_type == {"image": {"entries": 3, "objects": 3}, "pdf": {"entries": 1, "objects": 1}}  # type: ignore[attr-defined]


def test_each_plan_attempt_writes_its_own_chunks(tmp_path: Path, source: LocalStore) -> None:
    """A re-run plan (a cleared task) never overwrites chunks an earlier attempt may have registered."""
    first, _ = _plan(tmp_path, source)
    second, _ = _plan(tmp_path, source)  # the same run id; its objects are still pending
    assert len(second.plan_uris) == len(first.plan_uris) == 2  # type: ignore[attr-defined]
    assert not set(first.plan_uris) & set(second.plan_uris)  # type: ignore[attr-defined]


def test_settled_objects_are_not_planned_again(tmp_path: Path, source: LocalStore) -> None:
    _, ledger = _plan(tmp_path, source)
    _settle(ledger, "in/a.jpg", "in/b.jpg", "in/c.jpg", "in/doc.pdf")
    result, _ = _plan(tmp_path, source, run_id="run-2")
    assert result.planned == 0 and result.skipped_known == 5  # type: ignore[attr-defined]  # + the rejected zip


def test_an_overwritten_object_is_reported_once_and_not_planned(tmp_path: Path, source: LocalStore) -> None:
    _, ledger = _plan(tmp_path, source)
    _settle(ledger, "in/a.jpg", "in/b.jpg", "in/c.jpg", "in/doc.pdf")
    (Path(source.bucket) / "in" / "a.jpg").write_bytes(JPEG + b"new content, new etag")
    result, ledger = _plan(tmp_path, source, run_id="run-2")
    changes = result.changes.report()  # type: ignore[attr-defined]
    assert result.planned == 0 and changes["overwritten_count"] == 1  # type: ignore[attr-defined]
    assert changes["overwritten"][0]["key"] == "in/a.jpg"
    record = ledger.records["in/a.jpg"]
    assert record.state == ObjectState.LINKED and record.etag == changes["overwritten"][0]["new_etag"]
    again, _ = _plan(tmp_path, source, run_id="run-3")
    assert again.changes.report()["overwritten_count"] == 0  # type: ignore[attr-defined]


def test_a_deleted_object_is_found_only_by_a_complete_listing(tmp_path: Path, source: LocalStore) -> None:
    _, ledger = _plan(tmp_path, source)
    _settle(ledger, "in/a.jpg", "in/b.jpg", "in/c.jpg", "in/doc.pdf")
    os.remove(Path(source.bucket) / "in" / "b.jpg")
    narrowed, ledger = _plan(tmp_path, source, RunOptions(prefix="in/a"), run_id="run-2")
    assert narrowed.changes.report()["deleted_count"] == 0  # type: ignore[attr-defined]
    assert ledger.records["in/b.jpg"].state == ObjectState.LINKED
    result, ledger = _plan(tmp_path, source, run_id="run-3")
    deleted = result.changes.report()["deleted"]  # type: ignore[attr-defined]
    assert [(d["key"], d["item"]) for d in deleted] == [("in/b.jpg", "item-in/b.jpg")]
    record = ledger.records["in/b.jpg"]
    assert record.state == ObjectState.DELETED and record.item_uuid == "item-in/b.jpg"


def test_a_dry_run_writes_manifests_but_no_ledger(tmp_path: Path, source: LocalStore) -> None:
    result, ledger = _plan(tmp_path, source, RunOptions(dry_run=True))
    assert ledger.records == {}
    assert result.planned == 4 and all("/dry-run/chunks/" in u for u in result.manifest_uris)  # type: ignore[attr-defined]
    summary = result.summary()  # type: ignore[attr-defined]
    assert summary["by_type"]["image"] == {"entries": 3, "objects": 3} and len(summary["manifests"]) == 2
    json.dumps(summary)


def test_policies_tag_the_items_of_changed_objects(tmp_path: Path) -> None:
    api = FakeApi()
    changes = BucketChanges(
        overwritten=[{"key": "k1", "item": "i1", "new_etag": "e2", "size": 3, "last_modified": "t"}],
        deleted=[{"key": "k2", "item": "i2"}, {"key": "k3", "item": None}],
    )
    config = pipeline(tmp_path, bucket_changes={"overwritten": "update_metadata", "deleted": "archive"})
    assert apply_policies(config, api, changes) == {"items_tagged": 2}  # type: ignore[arg-type]
    assert api.tagged["i1"]["source"]["etag"] == "e2" and "deleted_from_bucket" in api.tagged["i2"]
    assert [d.get("action") for d in changes.deleted] == ["archived (item metadata tagged)", None]
    reported = BucketChanges(deleted=[{"key": "k2", "item": "i2", "action": "reported"}])
    assert apply_policies(pipeline(tmp_path), api, reported) == {}  # type: ignore[arg-type]


def test_a_record_that_comes_back_is_planned_again(tmp_path: Path, source: LocalStore) -> None:
    _, ledger = _plan(tmp_path, source)
    ledger.write(
        [LedgerRecord("in/a.jpg", ledger.records["in/a.jpg"].etag, ObjectState.DELETED, item_uuid="i")]
    )
    result, _ = _plan(tmp_path, source, run_id="run-2")
    assert result.planned >= 1  # type: ignore[attr-defined]
