"""The storage backends: one entry per backend, and everything that lists schemes is derived from it.

An entry names the URI scheme (`s3://`), its aliases (`gcs://`), the name a pipelines file uses for the
cloud (`source.cloud: gcs`), the Airflow connection types it reads credentials from, the roles its
buckets may play in a pipelines file, and its backend module's store class and opener. The store class
owns the listing order (`key_order`) and the object URLs Encord gets (`object_url`); the entry reaches
them lazily, so importing the registry (at DAG-parse time) imports no cloud SDK.

S3-compatible endpoints (OTC OBS, MinIO, moto) are the `s3` backend with an `endpoint_url`.

Adding a cloud: write its backend module (a store class and an `open_<cloud>_store` opener, see
`storage/local.py` for the smallest one) and `register()` one `Backend` below. Config validation, URI
parsing, connection dispatch and error texts pick it up from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from encord_provider.storage.bucket_names import azure_problem, gcs_problem, s3_problem

Role = Literal["source", "staging", "export", "inventory"]
ALL_ROLES: frozenset[Role] = frozenset({"source", "staging", "export", "inventory"})


class StoreOpener(Protocol):
    """`open(bucket, connection, endpoint_url, **store_kwargs)`: the store for one bucket. `connection` is
    the Airflow connection (already checked to be one of the entry's types) or None for the environment's
    default credentials; `endpoint_url`, when given, wins over the connection's endpoint."""

    def __call__(
        self, bucket: str, connection: Any, endpoint_url: str | None, **store_kwargs: Any
    ) -> Any: ...


def _load(path: str) -> Any:
    """`package.module:attribute` -> the attribute (imported on first use)."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Backend:
    """One storage backend. `store` and `opener` are `module:attribute` paths into its backend module."""

    scheme: str
    cloud: str
    store: str
    opener: str
    example: str  # the URI shape named in error messages, e.g. "s3://bucket[/path]"
    aliases: tuple[str, ...] = ()
    conn_types: tuple[str, ...] = ()  # the first is the one documented; empty: takes no connection
    roles: frozenset[Role] = ALL_ROLES
    bucket_problem: Callable[[str], str | None] | None = None
    classify: str | None = None  # `module:function` reading its SDK's errors (see storage.probe.classify)
    path_uris: bool = (
        False  # `file:///abs/path` URIs: no bucket; a listed prefix roots the store at its folder
    )
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def store_class(self) -> Any:
        if "store" not in self._cache:
            self._cache["store"] = _load(self.store)
        return self._cache["store"]

    @property
    def key_order(self) -> Callable[[str], Any]:
        """The order the backend lists keys in (Azure: UTF-16 code units; the others: code points)."""
        order: Callable[[str], Any] = self.store_class.key_order
        return order

    @property
    def object_url(self) -> Callable[..., str]:
        """The store method that builds the object URLs Encord reads (`store.object_url(key)`)."""
        builder: Callable[..., str] = self.store_class.object_url
        return builder

    def classify_error(self, err: BaseException) -> Any:
        """The `storage.probe.StoreProblem` an error of this backend's SDK means, or None."""
        return _load(self.classify)(err) if self.classify else None

    def open(self, bucket: str, connection: Any, endpoint_url: str | None, **store_kwargs: Any) -> Any:
        opener: StoreOpener = _load(self.opener)
        return opener(bucket, connection, endpoint_url, **store_kwargs)


_BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    """Add (or replace) a backend; its scheme, aliases and cloud name must not belong to another one."""
    for name in (backend.scheme, *backend.aliases):
        owner = _by_scheme().get(name)
        if owner is not None and owner.scheme != backend.scheme:
            raise ValueError(f"storage scheme {name!r} already belongs to the {owner.scheme!r} backend")
    _BACKENDS[backend.scheme] = backend
    return backend


def unregister(scheme: str) -> None:
    _BACKENDS.pop(scheme, None)


def backends(role: Role | None = None) -> list[Backend]:
    return [b for b in _BACKENDS.values() if role is None or role in b.roles]


def _by_scheme() -> dict[str, Backend]:
    return {name: b for b in _BACKENDS.values() for name in (b.scheme, *b.aliases)}


def find(scheme: str) -> Backend | None:
    """The backend of a URI scheme or alias (case-insensitive), or None."""
    return _by_scheme().get(scheme.lower())


def schemes(role: Role | None = None) -> tuple[str, ...]:
    return tuple(b.scheme for b in backends(role))


def clouds(role: Role | None = None) -> tuple[str, ...]:
    return tuple(b.cloud for b in backends(role))


def by_cloud(cloud: str, role: Role | None = None) -> Backend:
    """The backend a pipelines file names by cloud (`s3`, `gcs`, `azure`); ValueError listing the valid ones."""
    for backend in backends(role):
        if backend.cloud == cloud:
            return backend
    raise ValueError(f"unknown cloud {cloud!r}; expected one of {', '.join(clouds(role))}")


def by_conn_type(conn_type: str) -> Backend | None:
    lowered = conn_type.lower()
    return next((b for b in _BACKENDS.values() if lowered in b.conn_types), None)


def uri_examples(role: Role | None = None) -> str:
    """`s3://bucket[/path], gs://bucket[/path] or az://container[/path]` for error messages."""
    shapes = [b.example for b in backends(role)]
    return shapes[0] if len(shapes) == 1 else ", ".join(shapes[:-1]) + " or " + shapes[-1]


def conn_type_names() -> str:
    """`aws, google_cloud_platform or wasb`: the documented connection type of each backend."""
    names = [b.conn_types[0] for b in _BACKENDS.values() if b.conn_types]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


_CLOUDS = (
    Backend(
        scheme="s3",
        cloud="s3",
        store="encord_provider.storage.s3:S3Store",
        opener="encord_provider.storage.s3:open_s3_store",
        classify="encord_provider.storage.s3:classify_s3_error",
        example="s3://bucket[/path]",
        conn_types=("aws", "s3"),
        bucket_problem=s3_problem,
    ),
    Backend(
        scheme="gs",
        cloud="gcs",
        store="encord_provider.storage.gcs:GCSStore",
        opener="encord_provider.storage.gcs:open_gcs_store",
        classify="encord_provider.storage.gcs:classify_gcs_error",
        example="gs://bucket[/path]",
        aliases=("gcs",),
        conn_types=("google_cloud_platform", "gcpcloudstorage", "gcs"),
        bucket_problem=gcs_problem,
    ),
    Backend(
        scheme="az",
        cloud="azure",
        store="encord_provider.storage.azure:AzureBlobStore",
        opener="encord_provider.storage.azure:open_azure_store",
        classify="encord_provider.storage.azure:classify_azure_error",
        example="az://container[/path]",
        aliases=("abfs", "wasb"),
        conn_types=("wasb", "azure_blob_storage"),
        bucket_problem=azure_problem,
    ),
    Backend(
        scheme="file",
        cloud="local",
        store="encord_provider.storage.local:LocalStore",
        opener="encord_provider.storage.local:open_local_store",
        example="file:///path",
        # a source's files are uploaded to Encord (ingest/local_upload); no conditional staging
        roles=frozenset({"source", "export", "inventory"}),
        path_uris=True,
    ),
)
for _backend in _CLOUDS:
    register(_backend)
