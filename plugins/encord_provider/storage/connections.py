"""Stores built from Airflow connections (`aws`, `google_cloud_platform`, `wasb`).

Airflow is imported lazily here and nowhere else in `encord_provider.storage`. Credentials go straight into
the client objects and are never logged or put in error messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from encord_provider.storage.base import ObjectStore
from encord_provider.storage.client_cache import connection_fingerprint, shared_client
from encord_provider.storage.errors import ConnectionConfigError

AWS_TYPES = {"aws", "s3"}
GCP_TYPES = {"google_cloud_platform", "gcpcloudstorage", "gcs"}
AZURE_TYPES = {"wasb", "azure_blob_storage"}


def _get_connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def _extra_value(extra: Mapping[str, Any], conn_type: str, name: str) -> Any:
    """An extra field, also under the legacy `extra__<conn_type>__<name>` spelling."""
    value = extra.get(name)
    if value in (None, ""):
        value = extra.get(f"extra__{conn_type}__{name}")
    return None if value == "" else value


def store_from_connection(
    conn_id: str, bucket: str, *, endpoint_url: str | None = None, **store_kwargs: Any
) -> ObjectStore:
    """The store for `bucket` using Airflow connection `conn_id`. `endpoint_url`, if given, overrides the
    connection's endpoint (Azure: its account URL); `store_kwargs` go to the store (e.g. `page_size`)."""
    conn = _get_connection(conn_id)
    conn_type = (conn.conn_type or "").lower()
    if conn_type in AWS_TYPES:
        return _s3_store(conn_id, conn, bucket, endpoint_url, store_kwargs)
    if conn_type in GCP_TYPES:
        return _gcs_store(conn_id, conn, bucket, endpoint_url, store_kwargs)
    if conn_type in AZURE_TYPES:
        return _azure_store(conn_id, conn, bucket, endpoint_url, store_kwargs)
    raise ConnectionConfigError(
        f"connection {conn_id!r} has type {conn.conn_type!r}; expected aws, google_cloud_platform or wasb"
    )


def _s3_store(
    conn_id: str, conn: Any, bucket: str, endpoint_url: str | None, store_kwargs: dict[str, Any]
) -> ObjectStore:
    """Through the amazon provider's S3Hook, so its session, role assumption, region, `endpoint_url` and
    botocore `config_kwargs` (e.g. `{"s3": {"addressing_style": "path"}}`) all apply. Extras `url_style`,
    `mrap_arn` and `bucket_region` (the region object URLs name; default: looked up) go to the store."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from encord_provider.storage.s3 import S3Store

    extra = conn.extra_dejson

    def build() -> tuple[Any, str | None, str | None]:
        hook = S3Hook(aws_conn_id=conn_id)
        region = hook.conn_region_name
        if endpoint_url:
            session = hook.get_session(region_name=region)
            client = session.client("s3", endpoint_url=endpoint_url, config=hook.config, verify=hook.verify)
            return client, endpoint_url, region
        return hook.get_conn(), hook.conn_config.get_service_endpoint_url("s3"), region

    key = ("s3", conn_id, endpoint_url, connection_fingerprint(conn))
    client, endpoint_url, region = shared_client(key, build)
    kwargs: dict[str, Any] = {"client": client, "endpoint_url": endpoint_url, "region": region}
    for name in ("url_style", "mrap_arn", "bucket_region"):
        if extra.get(name):
            kwargs[name] = extra[name]
    return S3Store(bucket, **{**kwargs, **store_kwargs})


def _gcs_credentials(conn_id: str, extra: Mapping[str, Any], conn_type: str) -> Any:
    """Credentials from `keyfile_dict` (JSON text or object), `key_path`/`keyfile` (a file), `anonymous`,
    else Application Default Credentials (None lets the client find them)."""
    if _extra_value(extra, conn_type, "anonymous") in (True, "true", "True", 1):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    from google.oauth2 import service_account

    keyfile_dict = _extra_value(extra, conn_type, "keyfile_dict")
    if keyfile_dict:
        try:
            info = json.loads(keyfile_dict) if isinstance(keyfile_dict, str) else dict(keyfile_dict)
        except json.JSONDecodeError as err:
            raise ConnectionConfigError(f"connection {conn_id!r}: keyfile_dict is not valid JSON") from err
        return service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    key_path = _extra_value(extra, conn_type, "key_path") or _extra_value(extra, conn_type, "keyfile")
    if key_path:
        try:
            return service_account.Credentials.from_service_account_file(key_path)  # type: ignore[no-untyped-call]
        except OSError as err:
            raise ConnectionConfigError(f"connection {conn_id!r}: cannot read key file {key_path!r}") from err
    return None


def _gcs_store(
    conn_id: str, conn: Any, bucket: str, endpoint_url: str | None, store_kwargs: dict[str, Any]
) -> ObjectStore:
    from encord_provider.storage.gcs import GCSStore, make_gcs_client

    conn_type = (conn.conn_type or "").lower()
    extra = conn.extra_dejson
    project = _extra_value(extra, conn_type, "project") or _extra_value(extra, conn_type, "project_id")
    client = shared_client(
        ("gs", conn_id, endpoint_url, connection_fingerprint(conn)),
        lambda: make_gcs_client(
            project=project,
            credentials=_gcs_credentials(conn_id, extra, conn_type),
            endpoint_url=endpoint_url or _extra_value(extra, conn_type, "endpoint_url"),
        ),
    )
    kwargs: dict[str, Any] = {"client": client}
    if extra.get("url_style"):
        kwargs["url_style"] = extra["url_style"]
    return GCSStore(bucket, **{**kwargs, **store_kwargs})


def _connection_string_parts(conn_str: str) -> dict[str, str]:
    """`A=1;B=x=y;` -> {"A": "1", "B": "x=y"} (values may contain '=')."""
    pairs = (part.split("=", 1) for part in conn_str.split(";") if "=" in part)
    return {name.strip(): value.strip() for name, value in pairs}


def _azure_store(
    conn_id: str, conn: Any, bucket: str, endpoint_url: str | None, store_kwargs: dict[str, Any]
) -> ObjectStore:
    """`connection_string`; else account URL (`endpoint_url`, host, or `https://<login>.blob.core.windows.net`)
    with the account key (password or `shared_access_key`) or a `sas_token`."""
    from encord_provider.storage.azure import AzureBlobStore, make_blob_service

    extra = conn.extra_dejson
    conn_type = (conn.conn_type or "").lower()
    conn_str = _extra_value(extra, conn_type, "connection_string")
    if conn_str and not endpoint_url:
        service = shared_client(
            ("az", conn_id, None, connection_fingerprint(conn)),
            lambda: make_blob_service(connection_string=conn_str),
        )
        return AzureBlobStore(bucket, service=service, **store_kwargs)
    account_url = (
        endpoint_url or conn.host or (f"https://{conn.login}.blob.core.windows.net" if conn.login else None)
    )
    if not account_url:
        raise ConnectionConfigError(
            f"connection {conn_id!r}: set extra connection_string, or host/login (the storage account)"
        )
    if not account_url.startswith(("http://", "https://")):
        account_url = f"https://{account_url}"
    from_conn_str = _connection_string_parts(conn_str or "")
    account = conn.login or from_conn_str.get("AccountName")
    sas_token = _extra_value(extra, conn_type, "sas_token") or from_conn_str.get("SharedAccessSignature")
    key = (
        _extra_value(extra, conn_type, "shared_access_key")
        or conn.password
        or from_conn_str.get("AccountKey")
    )
    credential: Any
    if sas_token:
        credential = sas_token.lstrip("?")
    elif key and account:
        credential = {"account_name": account, "account_key": key}
    else:
        raise ConnectionConfigError(
            f"connection {conn_id!r}: needs an account key (password or shared_access_key) with the "
            "account name in login, or a sas_token"
        )
    service = shared_client(
        ("az", conn_id, account_url, connection_fingerprint(conn)),
        lambda: make_blob_service(account_url=account_url, credential=credential),
    )
    return AzureBlobStore(bucket, service=service, **store_kwargs)
