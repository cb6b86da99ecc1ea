"""Reading Airflow connections for the storage backends (each backend module builds its own client).

Airflow is imported lazily here and nowhere else in `encord_provider.storage` (the S3 opener also uses the
amazon provider's S3Hook). Credentials go straight into the client objects and are never logged or put in
error messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import ConnectionConfigError


def get_connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def conn_type_of(connection: Any) -> str:
    return str(connection.conn_type or "").lower()


def extra_value(connection: Any, name: str) -> Any:
    """An extra field of `connection`, also under the legacy `extra__<conn_type>__<name>` spelling."""
    extra: Mapping[str, Any] = connection.extra_dejson
    value = extra.get(name)
    if value in (None, ""):
        value = extra.get(f"extra__{conn_type_of(connection)}__{name}")
    return None if value == "" else value


def store_from_connection(
    conn_id: str, bucket: str, *, endpoint_url: str | None = None, **store_kwargs: Any
) -> ObjectStore:
    """The store for `bucket` of the backend whose connection type `conn_id` has (`aws` -> S3, ...).
    Prefer `storage.factory.open_store`, which takes the backend from the URI and checks the type."""
    from encord_provider.storage import registry

    connection = get_connection(conn_id)
    backend = registry.by_conn_type(conn_type_of(connection))
    if backend is None:
        raise ConnectionConfigError(
            f"connection {conn_id!r} has type {connection.conn_type!r}; expected {registry.conn_type_names()}"
        )
    store: ObjectStore = backend.open(bucket, connection, endpoint_url, **store_kwargs)
    return store
