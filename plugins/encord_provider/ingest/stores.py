"""Open the source and staging stores of a pipeline from Airflow connections, and check them first.

A connection goes through `encord_provider.storage.connections`. When the config also sets `endpoint_url`,
the backend is built here from the connection fields (aws: login/password/extra.region_name; gcp:
extra.project/anonymous; wasb: extra.connection_string or login + password) so the endpoint wins.

`checked_source` / `checked_staging` open a store and make one listing request, so a missing bucket, a
refused credential or an unreachable endpoint is reported before anything is created in Encord, naming
the bucket, its role (source or staging) and the connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, cast

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ingest.errors import PermanentIngestError, StoreAccessError, StoreUnavailableError
from encord_provider.storage import probe
from encord_provider.storage.base import ConditionalStore, ObjectStore
from encord_provider.storage.client_cache import fingerprint, shared_client
from encord_provider.storage.errors import ConnectionConfigError

Role = Literal["source", "staging"]


def _connection_fields(conn_id: str | None) -> tuple[str | None, str | None, dict[str, Any]]:
    if not conn_id:
        return None, None, {}
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    return conn.login, conn.password, dict(conn.extra_dejson)


def _s3(bucket: str, conn_id: str | None, endpoint_url: str | None, **store_kwargs: Any) -> ObjectStore:
    from encord_provider.storage.s3 import S3Store, make_s3_client

    login, password, extra = _connection_fields(conn_id)
    credentials: dict[str, Any] = {}
    if login and password:
        credentials = {"aws_access_key_id": login, "aws_secret_access_key": password}
    endpoint_url = endpoint_url or extra.get("endpoint_url")
    region = extra.get("region_name")
    client = shared_client(
        ("s3", conn_id, endpoint_url, fingerprint(login, password, extra)),
        lambda: make_s3_client(endpoint_url=endpoint_url, region=region, **credentials),
    )
    kwargs = {"bucket_region": extra["bucket_region"]} if extra.get("bucket_region") else {}
    return S3Store(
        bucket, client=client, endpoint_url=endpoint_url, region=region, **{**kwargs, **store_kwargs}
    )


def _gcs(bucket: str, conn_id: str | None, endpoint_url: str | None) -> ObjectStore:
    from encord_provider.storage.gcs import GCSStore, make_gcs_client

    _, _, extra = _connection_fields(conn_id)
    client = shared_client(
        ("gs", conn_id, endpoint_url, fingerprint(extra)),
        lambda: make_gcs_client(
            project=extra.get("project") or extra.get("project_id"),
            endpoint_url=endpoint_url or extra.get("endpoint_url"),
            anonymous=bool(extra.get("anonymous")),
        ),
    )
    return GCSStore(bucket, client=client)


def _azure(container: str, conn_id: str | None, endpoint_url: str | None) -> ObjectStore:
    from encord_provider.storage.azure import AzureBlobStore, make_blob_service

    login, password, extra = _connection_fields(conn_id)
    key = ("az", conn_id, endpoint_url, fingerprint(login, password, extra))
    if extra.get("connection_string"):
        service = shared_client(key, lambda: make_blob_service(connection_string=extra["connection_string"]))
        return AzureBlobStore(container, service=service)
    account_url = (
        endpoint_url or extra.get("account_url") or (login and f"https://{login}.blob.core.windows.net")
    )
    if not account_url:
        raise ValueError(f"connection {conn_id!r} needs extra.connection_string or a login (account name)")
    service = shared_client(
        key, lambda: make_blob_service(account_url=account_url, credential=password or None)
    )
    return AzureBlobStore(container, service=service)


_BUILDERS = {"s3": _s3, "gs": _gcs, "az": _azure}


def open_store(
    scheme: str, bucket: str, conn_id: str | None, endpoint_url: str | None = None, **store_kwargs: Any
) -> ObjectStore:
    """An ObjectStore for `scheme://bucket` (scheme s3, gs or az).

    A connection alone goes through `storage.connections` (the provider hooks' own settings apply); an
    explicit endpoint with a connection is built here so the endpoint wins; neither uses the environment.
    """
    if scheme not in _BUILDERS:
        raise ValueError(f"unsupported storage scheme {scheme!r}; expected one of {sorted(_BUILDERS)}")
    if conn_id and not endpoint_url:
        from encord_provider.storage.connections import store_from_connection

        return store_from_connection(conn_id, bucket, **store_kwargs)
    if not conn_id:
        from encord_provider.storage.factory import make_store

        return make_store(scheme, bucket, endpoint_url=endpoint_url, **store_kwargs)
    return _BUILDERS[scheme](bucket, conn_id, endpoint_url, **store_kwargs)


def source_store(pipeline: IngestPipeline) -> ObjectStore:
    source = pipeline.source
    extra = {"bucket_region": source.bucket_region} if source.bucket_region else {}
    return open_store(source.scheme, source.bucket, source.conn_id, source.endpoint_url, **extra)


def staging_store(pipeline: IngestPipeline) -> ObjectStore:
    staging = pipeline.staging
    return open_store(staging.scheme, staging.bucket, staging.conn_id, staging.endpoint_url)


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
