"""The plan step's reports: every listed object is planned, rejected with a reason, or skipped with one."""

from __future__ import annotations

import json
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ledger import Ledger
from encord_provider.operators.ingest_plan import RunOptions, plan_run
from encord_provider.storage.s3 import S3Store


def test_plan_lists_skipped_objects_with_reasons(s3_client: Any, moto_endpoint: str) -> None:
    s3_client.create_bucket(Bucket="plan-src")
    objects = {
        "in/a.jpg": b"image",
        "in/b.txt": b"text",
        "in/folder/": b"",
        "in/tiny.jpg": b"",
        "in/a/../x.jpg": b"dot segment",
        "in/a.jpg.encord.json": b"{}",
    }
    for key, body in objects.items():
        s3_client.put_object(Bucket="plan-src", Key=key, Body=body)
    store = S3Store("plan-src", endpoint_url=moto_endpoint)
    pipeline = IngestPipeline.model_validate(
        {
            "name": "reports",
            "source": {"cloud": "s3", "bucket": "plan-src", "prefix": "in/",
                       "filters": {"extensions": [".jpg"], "min_size": 1}},
            "integration": {"title": "t"},
            "folder": {"name": "f"},
            "staging": {"uri": "s3://plan-src/staging"},
        }
    )  # fmt: skip
    ledger = Ledger(store, "staging/ledger/reports").load()
    first = plan_run(pipeline, RunOptions(), "run1", store, store, ledger)
    assert (first.planned, first.rejected) == (1, 1)  # a.jpg; the dot-segment key is rejected
    reasons = _skipped(store, first.listing["skipped_uri"])
    assert reasons == {
        "in/b.txt": "extension", "in/folder/": "directory_marker", "in/tiny.jpg": "too_small",
        "in/a.jpg.encord.json": "sidecar",
    }  # fmt: skip
    assert first.listing["seen"] == len(objects) and first.listing["kept"] == 2
    second = plan_run(
        pipeline, RunOptions(), "run2", store, store, Ledger(store, "staging/ledger/reports").load()
    )
    again = _skipped(store, second.listing["skipped_uri"])
    assert again["in/a/../x.jpg"] == "already_in_ledger"  # rejected, unchanged
    assert "in/a.jpg" not in again and second.planned == 1  # pending (never submitted): planned again


def _skipped(store: S3Store, uri: str) -> dict[str, str]:
    text = store.read_bytes(uri.removeprefix(f"s3://{store.bucket}/")).decode()
    return {line["key"]: line["reason"] for line in map(json.loads, text.splitlines())}
