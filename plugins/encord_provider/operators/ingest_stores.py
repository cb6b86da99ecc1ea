"""Open the source and staging stores of a pipeline from Airflow connections.

A connection goes through `encord_provider.storage.connections`. When the config also sets `endpoint_url`,
the backend is built here from the connection fields (aws: login/password/extra.region_name; gcp:
extra.project/anonymous; wasb: extra.connection_string or login + password) so the endpoint wins.
"""

from __future__ import annotations

from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.storage.base import ObjectStore


def _connection_fields(conn_id: str | None) -> tuple[str | None, str | None, dict[str, Any]]:
    if not conn_id:
        return None, None, {}
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    return conn.login, conn.password, dict(conn.extra_dejson)


def _s3(bucket: str, conn_id: str | None, endpoint_url: str | None, **store_kwargs: Any) -> ObjectStore:
    from encord_provider.storage.s3 import S3Store

    login, password, extra = _connection_fields(conn_id)
    kwargs: dict[str, Any] = {}
    if login and password:
        kwargs = {"aws_access_key_id": login, "aws_secret_access_key": password}
    if extra.get("bucket_region"):
        kwargs["bucket_region"] = extra["bucket_region"]
    return S3Store(
        bucket,
        endpoint_url=endpoint_url or extra.get("endpoint_url"),
        region=extra.get("region_name"),
        **{**kwargs, **store_kwargs},
    )


def _gcs(bucket: str, conn_id: str | None, endpoint_url: str | None) -> ObjectStore:
    from encord_provider.storage.gcs import GCSStore

    _, _, extra = _connection_fields(conn_id)
    return GCSStore(
        bucket,
        project=extra.get("project") or extra.get("project_id"),
        endpoint_url=endpoint_url or extra.get("endpoint_url"),
        anonymous=bool(extra.get("anonymous")),
    )


def _azure(container: str, conn_id: str | None, endpoint_url: str | None) -> ObjectStore:
    from encord_provider.storage.azure import AzureBlobStore

    login, password, extra = _connection_fields(conn_id)
    if extra.get("connection_string"):
        return AzureBlobStore(container, connection_string=extra["connection_string"])
    account_url = (
        endpoint_url or extra.get("account_url") or (login and f"https://{login}.blob.core.windows.net")
    )
    if not account_url:
        raise ValueError(f"connection {conn_id!r} needs extra.connection_string or a login (account name)")
    return AzureBlobStore(container, account_url=account_url, credential=password or None)


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
