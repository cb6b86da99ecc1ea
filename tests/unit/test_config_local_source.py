"""`source: {cloud: local, path: ...}`: a directory on the worker, checked for syntax when the file is parsed
(errors name the file and line); it must exist only when a run starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from encord_provider.config import PipelinesConfigError, parse_pipelines
from encord_provider.ingest.errors import StoreUnavailableError
from encord_provider.ingest.stores import checked_source, source_store

LOCAL = """
pipelines:
  - name: scans
    source: {cloud: local, path: /mnt/nfs/scans/, prefix: /raw/}
    folder: {name: Scans}
    staging: {uri: "s3://staging/encord/"}
"""


def _error(text: str) -> str:
    with pytest.raises(PipelinesConfigError) as caught:
        parse_pipelines(text)
    return str(caught.value)


def test_a_local_source_parses_without_an_integration() -> None:
    pipeline = parse_pipelines(LOCAL).pipelines[0]
    source = pipeline.source
    assert (source.is_local, source.bucket, source.path, source.prefix) == (
        True,
        "/mnt/nfs/scans",
        "/mnt/nfs/scans/",
        "raw/",
    )
    assert source.bucket_url == "file:///mnt/nfs/scans" and pipeline.integration is None
    again = type(pipeline).model_validate(pipeline.model_dump(mode="json"))  # as tasks receive it
    assert again.source.bucket == "/mnt/nfs/scans"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "path: /mnt/nfs/scans/",
            "path: mnt/scans",
            "<string>:4: pipelines[0].source: path 'mnt/scans' must be an absolute",
        ),
        ("path: /mnt/nfs/scans/", "path: /mnt/../etc", "must not contain '..'"),
        (
            "path: /mnt/nfs/scans/,",
            "",
            "<string>:4: pipelines[0].source: a local source needs 'path'",
        ),
        (
            "path: /mnt/nfs/scans/",
            "bucket: scans",
            "a local source names its directory in 'path', not 'bucket'",
        ),
        (
            "prefix: /raw/}",
            "prefix: /raw/, conn_id: aws_default}",
            "a local source reads a directory: it takes no conn_id",
        ),
        ("    folder:", "    integration: {title: x}\n    folder:", "remove 'integration'"),
        (
            "cloud: local, path: /mnt/nfs/scans/",
            "cloud: s3, bucket: media, path: /mnt",
            "'path' is for local sources only",
        ),
        ("cloud: local, path: /mnt/nfs/scans/", "cloud: s3, bucket: media", "'integration' is required"),
    ],
)
def test_bad_local_sources_are_explained_with_file_and_line(old: str, new: str, expected: str) -> None:
    assert old in LOCAL
    assert expected in _error(LOCAL.replace(old, new))


def test_the_directory_must_exist_when_a_run_starts(tmp_path: Path) -> None:
    pipeline = parse_pipelines(LOCAL.replace("/mnt/nfs/scans/", str(tmp_path / "absent"))).pipelines[0]
    with pytest.raises(
        StoreUnavailableError, match=r"source directory .*absent does not exist on this worker"
    ):
        checked_source(pipeline)
    (tmp_path / "absent" / "raw").mkdir(parents=True)
    (tmp_path / "absent" / "raw" / "a.jpg").write_bytes(b"x")
    checked_source(pipeline)
    assert [r.key for r in source_store(pipeline).list_objects("raw/")] == [
        "raw/a.jpg"
    ]  # keys relative to path


def test_the_polling_trigger_lists_the_directory_with_the_pipelines_keys(tmp_path: Path) -> None:
    from datetime import timedelta

    from encord_provider.ledger.watermark import PollWindow
    from encord_provider.triggers.bucket_poll import poll_once

    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.jpg").write_bytes(b"x")
    fresh = poll_once("file", str(tmp_path), "raw/", None, None, PollWindow(None, timedelta(0)))
    assert [r.key for r in fresh] == ["raw/a.jpg"]
