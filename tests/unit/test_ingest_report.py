"""Run reports (`ingest.report`): the dry-run report, the log summary, the Asset event's counts."""

from __future__ import annotations

import re
from pathlib import Path

from encord_provider.ingest.report import asset_counts, dry_run_report, is_news, summary_text

from tests.unit.ingest_fakes import pipeline

PLAN = {
    "objects": 7, "entries": 5, "rejected": 1, "already_known": 2, "rejections_uri": "s3://s/r.jsonl",
    "by_type": {"image": {"entries": 4, "objects": 4}, "dicom_series": {"entries": 1, "objects": 3}},
    "manifests": ["s3://s/chunks/chunk-00000.json", "s3://s/chunks/chunk-00001.json"],
    "bucket_changes": {"deleted": [{"key": "in/gone.jpg"}], "deleted_count": 1, "overwritten": [], "overwritten_count": 0},
}  # fmt: skip


def test_the_dry_run_report_says_what_would_be_registered(tmp_path: Path) -> None:
    report = dry_run_report(pipeline(tmp_path), "manual__1", PLAN)
    assert report["would_register"] == {"objects": 7, "entries": 5, "by_type": PLAN["by_type"],
                                        "manifests": PLAN["manifests"]}  # fmt: skip
    text = summary_text(report)
    assert "DRY RUN" in text and "would register 7 objects in 5 entries" in text
    assert "image 4 entries / 4 objects" in text and "dicom_series 1 entries / 3 objects" in text
    assert PLAN["manifests"][0] in text and "s3://s/r.jsonl" in text
    assert "deleted in the bucket since registered: 1 (in/gone.jpg)" in text
    assert not re.search(r"\b0 objects", text)


def test_asset_counts_and_news() -> None:
    chunks = [{"registered": 3, "failed": 1, "rejected": 0}, {"registered": 2, "failed": 0, "rejected": 1}]
    counts = asset_counts(chunks, {"linked_objects": 5, "datasets": {"d": 4}}, {"registered": 1})
    assert counts == {"registered": 6, "linked": 5, "dataset_rows_added": 4, "rejected": 1, "failed": 1}
    assert is_news(counts)
    quiet = asset_counts([], {"linked_objects": 0, "datasets": {"d": 0}}, {})
    assert not is_news(quiet)
    assert is_news(asset_counts([], {"linked_objects": 0, "datasets": {"new": 8}}, {}))  # a backfill is news
