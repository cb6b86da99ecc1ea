"""`scheme://bucket[/path]` URIs in the pipeline file (staging and warehouse locations)."""

from __future__ import annotations


def check_bucket_uri(value: str, what: str, schemes: tuple[str, ...]) -> str:
    """The URI without a trailing slash; a ValueError naming `what` when it has no scheme or bucket, the
    bucket breaks its cloud's naming rules, or the path has empty, `.` or `..` segments."""
    from encord_provider.storage.bucket_names import bucket_name_problem

    scheme, sep, rest = value.partition("://")
    bucket, _, path = rest.partition("/")
    if not sep or scheme not in schemes or (scheme != "file" and not bucket) or not rest.strip("/"):
        raise ValueError(
            f"{what} uri {value!r} must look like s3://bucket[/path], gs://bucket or az://container"
        )
    problem = bucket_name_problem(scheme, bucket)
    if problem:
        raise ValueError(f"{what} uri {value!r}: {problem}")
    segments = path.rstrip("/").split("/") if path.rstrip("/") else []
    if scheme != "file" and any(segment in ("", ".", "..") for segment in segments):
        raise ValueError(f"{what} uri {value!r}: the path must not have empty, '.' or '..' segments")
    return value.rstrip("/")


def split_bucket_uri(uri: str) -> tuple[str, str, str]:
    """(scheme, bucket, path) of a checked URI; the path keeps its inner slashes."""
    scheme, _, rest = uri.partition("://")
    bucket, _, path = rest.partition("/")
    return scheme, bucket, path
