"""Is a bucket there and usable? One cheap request per store, and one reading of backend errors.

`probe(store, prefix)` lists at most one page under `prefix`; `classify(err)` says whether a backend error
means the bucket is missing, the credentials may not use it, or the endpoint could not be reached.
"""

from __future__ import annotations

from enum import Enum

from encord_provider.storage.base import ObjectStore

_S3_MISSING = {"NoSuchBucket"}
_S3_ACCESS = {
    "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
    "ExpiredToken", "AuthorizationHeaderMalformed", "403", "401",
}  # fmt: skip


class StoreProblem(Enum):
    MISSING = "does not exist"
    ACCESS = "cannot be used with these credentials"
    UNREACHABLE = "could not be reached"


def classify(err: BaseException) -> StoreProblem | None:
    """What a backend exception says about the bucket; None when it is about something else."""
    for problem in (_s3(err), _gcs(err), _azure(err)):
        if problem is not None:
            return problem
    if isinstance(err, ConnectionError | TimeoutError):
        return StoreProblem.UNREACHABLE
    return None


def _s3(err: BaseException) -> StoreProblem | None:
    try:
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
        from botocore.exceptions import ConnectionError as BotoConnectionError
    except ImportError:  # pragma: no cover - boto3 is a runtime dependency
        return None
    if isinstance(err, ClientError):
        code = str(err.response.get("Error", {}).get("Code"))
        if code in _S3_MISSING:
            return StoreProblem.MISSING
        if code in _S3_ACCESS:
            return StoreProblem.ACCESS
        return None
    if isinstance(err, NoCredentialsError):
        return StoreProblem.ACCESS
    if isinstance(err, EndpointConnectionError | BotoConnectionError):
        return StoreProblem.UNREACHABLE
    return None


def _gcs(err: BaseException) -> StoreProblem | None:
    try:
        from google.api_core import exceptions
        from google.auth.exceptions import DefaultCredentialsError, RefreshError
    except ImportError:  # the GCS client is optional
        return None
    if isinstance(err, exceptions.NotFound):
        return StoreProblem.MISSING
    if isinstance(
        err, exceptions.Forbidden | exceptions.Unauthorized | DefaultCredentialsError | RefreshError
    ):
        return StoreProblem.ACCESS
    if isinstance(err, exceptions.ServiceUnavailable | exceptions.RetryError):
        return StoreProblem.UNREACHABLE
    return None


def _azure(err: BaseException) -> StoreProblem | None:
    try:
        from azure.core import exceptions
    except ImportError:  # the Azure client is optional
        return None
    if isinstance(err, exceptions.ResourceNotFoundError):
        return StoreProblem.MISSING if "Container" in str(getattr(err, "error_code", "")) else None
    if isinstance(err, exceptions.ClientAuthenticationError):
        return StoreProblem.ACCESS
    if isinstance(err, exceptions.HttpResponseError) and err.status_code in (401, 403):
        return StoreProblem.ACCESS
    if isinstance(err, exceptions.ServiceRequestError):
        return StoreProblem.UNREACHABLE
    return None


def probe(store: ObjectStore, prefix: str = "") -> None:
    """One listing request under `prefix` (at most a page); raises whatever the backend raises."""
    next(iter(store.list_objects(prefix=prefix)), None)
