"""`scheme://bucket[/path]` URIs in the pipeline file (staging, warehouse and inventory locations).

Which schemes a location accepts comes from `storage.registry` (each backend lists the roles its buckets
may play), so a new backend is accepted here without editing this file.
"""

from __future__ import annotations

from encord_provider.storage.registry import Role


def check_bucket_uri(value: str, what: str, role: Role) -> str:
    """The URI without a trailing slash; a ValueError naming `what` when it has no scheme or bucket, the
    scheme cannot hold a `role` location, the bucket breaks its cloud's naming rules, or the path has
    empty, `.` or `..` segments."""
    from encord_provider.storage import registry
    from encord_provider.storage.bucket_names import bucket_name_problem

    scheme, sep, rest = value.partition("://")
    backend = registry.find(scheme) if sep else None
    bucket, _, path = rest.partition("/")
    usable = backend is not None and backend.scheme == scheme and role in backend.roles
    if not usable or (backend is not None and not backend.path_uris and not bucket) or not rest.strip("/"):
        raise ValueError(f"{what} uri {value!r} must look like {registry.uri_examples(role)}")
    problem = bucket_name_problem(scheme, bucket)
    if problem:
        raise ValueError(f"{what} uri {value!r}: {problem}")
    segments = path.rstrip("/").split("/") if path.rstrip("/") else []
    if (
        backend is not None
        and not backend.path_uris
        and any(segment in ("", ".", "..") for segment in segments)
    ):
        raise ValueError(f"{what} uri {value!r}: the path must not have empty, '.' or '..' segments")
    return value.rstrip("/")


def split_bucket_uri(uri: str) -> tuple[str, str, str]:
    """(scheme, bucket, path) of a checked URI; the path keeps its inner slashes."""
    scheme, _, rest = uri.partition("://")
    bucket, _, path = rest.partition("/")
    return scheme, bucket, path
