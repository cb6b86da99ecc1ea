"""The storage registry: one entry per backend, and everything that lists schemes follows it.

The `mem_backend` fixture adds a fourth backend the way a new cloud would be added (tests/unit/mem_backend.py
plus one `register` call), and the tests then parse a pipelines file and open its stores with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from encord_provider.config import PipelinesConfigError, parse_pipelines
from encord_provider.ingest.stores import checked_staging, source_store
from encord_provider.storage import registry
from encord_provider.storage.errors import ConnectionConfigError, UnsupportedUriError
from encord_provider.storage.factory import open_store, parse_uri, store_from_url

from tests.unit import mem_backend as mem_module

PIPELINES = """
pipelines:
  - name: mem_demo
    source: {cloud: mem, bucket: media, prefix: in/, conn_id: mem_test}
    integration: {title: mem-integration}
    folder: {name: Mem folder}
    staging: {uri: "mem://staging/encord", conn_id: mem_test}
projects:
  - name: mem_project
    project_hash: 00000000-0000-0000-0000-000000000001
    export: {uri: "mem://warehouse/labels", conn_id: mem_test}
"""


@pytest.fixture
def mem_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[registry.Backend]:
    monkeypatch.setattr(mem_module, "MEM_ROOT", [tmp_path])
    monkeypatch.setenv("AIRFLOW_CONN_MEM_TEST", '{"conn_type": "mem", "login": "acct"}')
    monkeypatch.setenv("AIRFLOW_CONN_AWS_FOR_MEM", '{"conn_type": "aws", "login": "x", "password": "y"}')
    backend = registry.register(
        registry.Backend(
            scheme="mem",
            cloud="mem",
            store="tests.unit.mem_backend:MemStore",
            opener="tests.unit.mem_backend:open_mem_store",
            example="mem://bucket[/path]",
            conn_types=("mem",),
            bucket_problem=mem_module.mem_bucket_problem,
        )
    )
    yield backend
    registry.unregister("mem")


def test_the_four_backends_and_their_names() -> None:
    assert registry.schemes() == ("s3", "gs", "az", "file")
    assert registry.clouds("source") == ("s3", "gcs", "azure", "local")
    assert registry.schemes("staging") == ("s3", "gs", "az")
    assert registry.schemes("export") == ("s3", "gs", "az", "file")
    assert [registry.find(alias).scheme for alias in ("GCS", "abfs", "wasb")] == ["gs", "az", "az"]  # type: ignore[union-attr]
    assert registry.by_conn_type("google_cloud_platform").scheme == "gs"  # type: ignore[union-attr]
    assert registry.by_cloud("azure").scheme == "az"
    assert registry.conn_type_names() == "aws, google_cloud_platform or wasb"


def test_listing_order_is_the_backends() -> None:
    keys = ["a\U0001f600", "a\uff08", "a~"]  # U+1F600 (a surrogate pair in UTF-16) vs U+FF08
    assert sorted(keys, key=registry.find("az").key_order) == ["a~", "a\U0001f600", "a\uff08"]  # type: ignore[union-attr]
    for scheme in ("s3", "gs", "file"):
        assert sorted(keys, key=registry.find(scheme).key_order) == ["a~", "a\uff08", "a\U0001f600"]  # type: ignore[union-attr]


def test_an_entry_cannot_take_another_backends_scheme() -> None:
    with pytest.raises(ValueError, match="already belongs to the 'gs' backend"):
        registry.register(
            registry.Backend(
                scheme="gcs2", cloud="x", store="m:S", opener="m:o", example="e", aliases=("gcs",)
            )
        )


def test_unknown_scheme_is_refused_until_registered() -> None:
    with pytest.raises(UnsupportedUriError, match=r"expected one of s3://, gs://, az://, file://"):
        parse_uri("mem://b/k")
    with pytest.raises(
        PipelinesConfigError, match=r"source.cloud: Input should be 's3', 'gcs', 'azure' or 'local'"
    ):
        parse_pipelines(PIPELINES)


def test_a_fourth_backend_parses_a_pipelines_file_and_opens_its_stores(mem_backend: registry.Backend) -> None:
    parsed = parse_pipelines(PIPELINES)
    pipeline = parsed.pipelines[0]
    assert pipeline.source.scheme == "mem" and pipeline.source.bucket_url == "mem://media"
    assert pipeline.staging.bucket == "staging" and parsed.projects[0].export is not None

    source = source_store(pipeline)
    assert isinstance(source, mem_backend.store_class) and source.account == "acct"  # type: ignore[attr-defined]
    source.write_bytes("in/a.jpg", b"jpeg")
    [record] = list(source.list_objects("in/"))
    assert record.url == "https://acct.mem.example/media/in/a.jpg"
    staging = checked_staging(pipeline)  # probed, and able to write conditionally (leases need it)
    assert staging.uri("x") == "mem://staging/x"

    store, prefix = store_from_url("mem://media/in/", conn_id="mem_test")
    assert prefix == "in/" and [r.key for r in store.list_objects(prefix)] == ["in/a.jpg"]
    assert mem_backend.key_order("b") == "b" and mem_backend.object_url(source, "in/a.jpg") == record.url


def test_a_fourth_backends_rules_and_connection_types_apply(mem_backend: registry.Backend) -> None:
    with pytest.raises(PipelinesConfigError, match="invalid mem:// bucket name 'Media_1'"):
        parse_pipelines(PIPELINES.replace("bucket: media", "bucket: Media_1"))
    with pytest.raises(
        PipelinesConfigError, match=r"must look like s3://bucket\[/path\], .* or mem://bucket"
    ):
        parse_pipelines(PIPELINES.replace("mem://staging/encord", "ftp://staging/encord"))
    with pytest.raises(ConnectionConfigError, match="'aws_for_mem' has type 'aws', but mem:// buckets need"):
        open_store("mem://media", conn_id="aws_for_mem")
    inventory = "listing: {mode: inventory, inventory: {uri: 'mem://inv/x/'}}, conn_id: mem_test"
    with pytest.raises(PipelinesConfigError, match="cloud 'mem' has no inventory format"):
        parse_pipelines(PIPELINES.replace("conn_id: mem_test}", inventory + "}", 1))
