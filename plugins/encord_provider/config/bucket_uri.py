"""`scheme://bucket[/path]` URIs in the pipeline file (staging and warehouse locations)."""

from __future__ import annotations


def check_bucket_uri(value: str, what: str, schemes: tuple[str, ...]) -> str:
    """The URI without a trailing slash; a ValueError naming `what` when it has no bucket or scheme."""
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in schemes or not rest.strip("/"):
        raise ValueError(
            f"{what} uri {value!r} must look like s3://bucket[/path], gs://bucket or az://container"
        )
    return value.rstrip("/")


def split_bucket_uri(uri: str) -> tuple[str, str, str]:
    """(scheme, bucket, path) of a checked URI; the path keeps its inner slashes."""
    scheme, _, rest = uri.partition("://")
    bucket, _, path = rest.partition("/")
    return scheme, bucket, path
