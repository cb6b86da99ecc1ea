"""One-line descriptions of the errors a storage SDK raises, for command-line tools.

botocore, google-cloud-storage and azure-storage-blob each raise their own exception trees with
multi-line messages; `describe_error` turns the common ones (missing bucket, access denied, bad
credentials, unreachable endpoint, invalid name) into one line without a traceback, and never includes
credentials (SDK messages do not carry them).
"""

from __future__ import annotations

MAX_CHARS = 400


def _first_line(text: str) -> str:
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= MAX_CHARS else line[: MAX_CHARS - 3] + "..."


def _botocore(err: BaseException) -> str | None:
    name = type(err).__name__
    response = getattr(err, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        code, message = error.get("Code", "?"), error.get("Message", "")
        bucket = error.get("BucketName")
        return f"{code}: {message}" + (f" (bucket {bucket!r})" if bucket else "")
    if name in {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
        "ReadTimeoutError",
    }:
        return f"cannot reach the storage endpoint: {_first_line(str(err))}"
    if name in {"NoCredentialsError", "PartialCredentialsError"}:
        return "no AWS credentials: use --conn-id or set AWS_ACCESS_KEY_ID / AWS_PROFILE"
    return _first_line(str(err).replace("Parameter validation failed:", ""))


def _google(err: BaseException) -> str | None:
    name = type(err).__name__
    if name == "DefaultCredentialsError":
        return "no Google credentials: use --conn-id or set GOOGLE_APPLICATION_CREDENTIALS"
    if name == "RetryError":
        cause = getattr(err, "cause", None)
        return f"gave up after retries: {_first_line(str(cause or err))}"
    message = getattr(err, "message", None) or str(err)
    code = getattr(err, "code", None)
    return f"{code}: {_first_line(message)}" if code else _first_line(message)


def _azure(err: BaseException) -> str | None:
    code = getattr(err, "error_code", None)
    code = getattr(code, "value", code)  # a StorageErrorCode enum
    message = getattr(err, "message", None) or str(err)
    if type(err).__name__ == "ServiceRequestError":
        return f"cannot reach the storage endpoint: {_first_line(str(err))}"
    return f"{code}: {_first_line(message)}" if code else _first_line(message)


def describe_error(err: BaseException) -> str:
    """A single line saying what went wrong, for any exception (SDK-specific where known)."""
    module = type(err).__module__
    if module.startswith("botocore") or module.startswith("boto3"):
        text = _botocore(err)
    elif module.startswith("google"):
        text = _google(err)
    elif module.startswith("azure"):
        text = _azure(err)
    elif module.startswith(("requests", "urllib3")):
        text = f"cannot reach the storage endpoint: {_first_line(str(err))}"
    else:
        text = _first_line(str(err)) or type(err).__name__
    return text or type(err).__name__
