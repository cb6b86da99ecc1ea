"""Hook lineage of the provider: source bucket prefix -> Encord folder -> datasets; project -> label version.

Every step that reads or writes data reports it to Airflow's hook lineage collector, with the `EncordHook`
of the step's connection as the context (as the Amazon provider's S3Hook does). OpenLineage, or any
`HookLineageReader` plugin, then sees the flow; without one the collector is a no-op and this costs nothing.

Encord assets are named `encord://folder/<uuid>`, `encord://dataset/<hash>` and `encord://project/<hash>`;
buckets keep their own URIs (`s3://bucket/prefix/`, `gs://…`, `az://…`, `file:///…`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

EncordKind = Literal["folder", "dataset", "project"]


def encord_uri(kind: EncordKind, identifier: str) -> str:
    return f"encord://{kind}/{identifier}"


def _hook(conn_id: str) -> Any:
    from encord_provider.hooks.encord import EncordHook

    return EncordHook(encord_conn_id=conn_id)  # holds the conn id only; no connection is read here


def _collector() -> Any:
    from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

    return get_hook_lineage_collector()


def _report(conn_id: str, inputs: Iterable[str], outputs: Iterable[str]) -> None:
    collector, hook = _collector(), _hook(conn_id)
    for uri in inputs:
        collector.add_input_asset(context=hook, uri=uri)
    for uri in outputs:
        collector.add_output_asset(context=hook, uri=uri)


def report_registration(conn_id: str, source_uri: str, folder_uuid: str) -> None:
    """Objects under `source_uri` (a bucket prefix) were registered into the Encord folder."""
    _report(conn_id, [source_uri], [encord_uri("folder", folder_uuid)])


def report_linking(conn_id: str, folder_uuid: str, dataset_hashes: Iterable[str]) -> None:
    """Items of the folder were linked into the datasets."""
    outputs = [encord_uri("dataset", dataset_hash) for dataset_hash in dataset_hashes]
    _report(conn_id, [encord_uri("folder", folder_uuid)], outputs)


def report_export(conn_id: str, project_hash: str, dataset_hashes: Iterable[str], version_uri: str) -> None:
    """The labels of the project (over its datasets) were written as the warehouse folder `version_uri`."""
    inputs = [encord_uri("project", project_hash), *(encord_uri("dataset", h) for h in dataset_hashes)]
    _report(conn_id, inputs, [version_uri])


def source_uri(pipeline: Any) -> str:
    """The URI of an ingest pipeline's source prefix, e.g. `s3://media/incoming/`."""
    return f"{pipeline.source.bucket_url}/{pipeline.source.prefix}"
