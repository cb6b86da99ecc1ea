"""Open the source and staging stores of a pipeline (through `storage.factory.open_store`), check them
first, and name the staging keys of the pipeline's ledger.

`checked_source` / `checked_staging` open a store and make one listing request, so a missing bucket, a
refused credential or an unreachable endpoint is reported before anything is created in Encord, naming
the bucket, its role (source or staging) and the connection.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, cast

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ingest.errors import PermanentIngestError, StoreAccessError, StoreUnavailableError
from encord_provider.storage import probe
from encord_provider.storage.base import ConditionalStore, ObjectStore
from encord_provider.storage.errors import ConnectionConfigError
from encord_provider.storage.factory import bucket_uri, open_bucket, open_store

Role = Literal["source", "staging"]


def source_store(pipeline: IngestPipeline) -> ObjectStore:
    source = pipeline.source
    if source.is_local:  # rooted at the directory, so keys (and the ledger) are relative to it
        return open_bucket(source.scheme, source.bucket)
    extra = {"bucket_region": source.bucket_region} if source.bucket_region else {}
    return open_store(source.bucket_url, conn_id=source.conn_id, endpoint_url=source.endpoint_url, **extra)


def staging_store(pipeline: IngestPipeline) -> ObjectStore:
    staging = pipeline.staging
    uri = bucket_uri(staging.scheme, staging.bucket)
    return open_store(uri, conn_id=staging.conn_id, endpoint_url=staging.endpoint_url)


def key_of_uri(store: ObjectStore, uri: str) -> str:
    """`s3://bucket/a/b.json` -> `a/b.json`, checking the URI belongs to `store`."""
    prefix = f"{store.scheme}://{store.bucket}/"
    if not uri.startswith(prefix):
        raise ValueError(f"{uri!r} is not inside {prefix!r}")
    return uri[len(prefix) :]


def staging_key(pipeline: IngestPipeline, *parts: str) -> str:
    """A key under the staging base path: `<base>/<parts...>`."""
    return "/".join(p.strip("/") for p in (pipeline.staging.base_path, *parts) if p.strip("/"))


def ledger_prefix(pipeline: IngestPipeline) -> str:
    return staging_key(pipeline, "ledger", pipeline.name)


def uploads_prefix(pipeline: IngestPipeline) -> str:
    """Where a local source keeps one upload marker per source entry (ingest.local_upload)."""
    return staging_key(pipeline, "local-uploads", pipeline.name)


def lease_key(pipeline: IngestPipeline) -> str:
    return f"{ledger_prefix(pipeline)}/lease.json"


def resources_key(pipeline: IngestPipeline) -> str:
    return f"{ledger_prefix(pipeline)}/resources.json"


def describe(pipeline: IngestPipeline, role: Role) -> str:
    """`source bucket s3://media (connection 'aws_prod')`."""
    if role == "source":
        url, conn = pipeline.source.bucket_url, pipeline.source.conn_id
    else:
        url, conn = f"{pipeline.staging.scheme}://{pipeline.staging.bucket}", pipeline.staging.conn_id
    return f"{role} bucket {url} ({f'connection {conn!r}' if conn else 'default credentials'})"


@contextmanager
def naming_the_bucket(pipeline: IngestPipeline, role: Role) -> Iterator[None]:
    """Turn backend errors about the bucket into ingest errors that name it, its role and its connection."""
    try:
        yield
    except ConnectionConfigError as err:
        raise StoreAccessError(f"{describe(pipeline, role)}: {err}") from err
    except Exception as err:
        problem = probe.classify(err)
        if problem is None:
            raise
        message = f"{describe(pipeline, role)} {problem.value}: {type(err).__name__}: {err}"
        if problem is probe.StoreProblem.UNREACHABLE:
            raise StoreUnavailableError(message) from err
        raise StoreAccessError(message) from err


def checked_source(pipeline: IngestPipeline) -> ObjectStore:
    if pipeline.source.is_local and not os.path.isdir(pipeline.source.bucket):
        raise StoreUnavailableError(  # transient: an NFS mount may not be up yet
            f"source directory {pipeline.source.bucket} does not exist on this worker ({socket.gethostname()})"
        )
    with naming_the_bucket(pipeline, "source"):
        store = source_store(pipeline)
        probe.probe(store, pipeline.source.prefix)
    return store


def checked_staging(pipeline: IngestPipeline) -> ConditionalStore:
    with naming_the_bucket(pipeline, "staging"):
        store = conditional(pipeline, staging_store(pipeline))
        probe.probe(store, ledger_prefix(pipeline) + "/")
    return store


def conditional(pipeline: IngestPipeline, store: ObjectStore) -> ConditionalStore:
    """The staging store as a ConditionalStore (leases and job intents need conditional writes)."""
    if not callable(getattr(store, "write_conditional", None)):
        raise PermanentIngestError(
            f"{describe(pipeline, 'staging')}: {type(store).__name__} cannot write conditionally"
        )
    return cast(ConditionalStore, store)
