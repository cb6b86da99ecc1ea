"""Amazon S3 and S3-compatible stores (OTC OBS, MinIO, moto) through boto3.

Object URLs name the bucket's own region, not the client's: a bucket in eu-west-2 listed by a client
configured for us-east-1 still gets `https://<bucket>.s3.eu-west-2.amazonaws.com/...`. The region comes
from `bucket_region` when given (CLI `--bucket-region`, config `source.bucket_region`, connection extra
`bucket_region`), else from GetBucketLocation (once per store), else from HeadBucket's
`x-amz-bucket-region` header, and only then falls back to the client's region with a warning.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from typing import Any, Literal

from encord_provider.storage.base import check_range
from encord_provider.storage.client_cache import connection_fingerprint, fingerprint, shared_client
from encord_provider.storage.errors import ObjectNotFoundError, PreconditionFailedError
from encord_provider.storage.key_order import code_point_order
from encord_provider.storage.probe import StoreProblem
from encord_provider.storage.records import ObjectRecord
from encord_provider.storage.urls import mrap_object_url, otc_object_url, quote_key, s3_object_url

UrlStyle = Literal["aws", "otc", "mrap", "endpoint"]
S3_MAX_PAGE = 1000
S3_MIN_PART = 5 * 1024 * 1024  # S3 rejects smaller parts, except the last one
DEFAULT_MULTIPART = 8 * 1024 * 1024
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
# 412 PreconditionFailed; 409 ConditionalRequestConflict when another conditional write is in flight.
_CONDITION_CODES = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}
REGION_PATTERN = r"^[a-z]{2}(-[a-z0-9]+)+$"  # us-east-1, eu-de (OTC), us-gov-west-1
# GetBucketLocation answers None (or "") for us-east-1 and the legacy "EU" for eu-west-1.
_LEGACY_LOCATIONS = {"": "us-east-1", "US": "us-east-1", "EU": "eu-west-1"}

log = logging.getLogger(__name__)


def normalise_location(constraint: str | None) -> str:
    """A GetBucketLocation `LocationConstraint` (or `x-amz-bucket-region`) as a region name."""
    value = (constraint or "").strip()
    return _LEGACY_LOCATIONS.get(value, value)


def strip_etag(etag: str | None) -> str:
    return (etag or "").strip('"')


def guess_url_style(endpoint_url: str | None) -> UrlStyle:
    """OTC endpoints get OTC URLs; AWS and local stand-ins (moto) get AWS URLs."""
    if endpoint_url and ".otc.t-systems.com" in endpoint_url:
        return "otc"
    return "aws"


def _region_from_endpoint(endpoint_url: str | None) -> str | None:
    """`https://obs.eu-de.otc.t-systems.com` -> `eu-de`."""
    if not endpoint_url or ".otc.t-systems.com" not in endpoint_url:
        return None
    host = endpoint_url.split("://", 1)[-1].split("/", 1)[0]
    labels = host.split(".")
    return labels[labels.index("obs") + 1] if "obs" in labels else None


def _error_text(err: Exception) -> str:
    code = (getattr(err, "response", None) or {}).get("Error", {}).get("Code")
    return str(code) if code else type(err).__name__


def make_s3_client(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    addressing_style: Literal["auto", "virtual", "path"] | None = None,
    max_pool_connections: int = 32,
    session: Any = None,
    **client_kwargs: Any,
) -> Any:
    """A boto3 S3 client; `session` may be a boto3 Session (e.g. from an Airflow AWS hook)."""
    import boto3
    from botocore.config import Config

    s3_config = {"addressing_style": addressing_style} if addressing_style else {}
    config = Config(s3=s3_config, max_pool_connections=max_pool_connections, retries={"mode": "standard"})
    session = session or boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config, **client_kwargs)


class S3Store:
    """One S3 bucket. Listing streams `list_objects_v2` pages of `page_size` keys."""

    scheme = "s3"
    key_order = staticmethod(code_point_order)  # S3 lists by UTF-8 bytes

    def __init__(
        self,
        bucket: str,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: Literal["auto", "virtual", "path"] | None = None,
        url_style: UrlStyle | None = None,
        mrap_arn: str | None = None,
        bucket_region: str | None = None,
        page_size: int = S3_MAX_PAGE,
        multipart_threshold: int = DEFAULT_MULTIPART,
        multipart_chunksize: int = DEFAULT_MULTIPART,
        **client_kwargs: Any,
    ) -> None:
        if not 1 <= page_size <= S3_MAX_PAGE:
            raise ValueError(f"page_size must be within 1..{S3_MAX_PAGE}, got {page_size}")
        if multipart_chunksize < S3_MIN_PART:
            raise ValueError(
                f"multipart_chunksize must be at least {S3_MIN_PART} bytes, got {multipart_chunksize}"
            )
        self.bucket = bucket
        self.client = client or make_s3_client(
            endpoint_url=endpoint_url, region=region, addressing_style=addressing_style, **client_kwargs
        )
        self.endpoint_url = endpoint_url or self.client.meta.endpoint_url
        # The client's region (requests are signed for it); URLs use `bucket_region`, see the module doc.
        self.region = (
            region or _region_from_endpoint(endpoint_url) or self.client.meta.region_name or "us-east-1"
        )
        self._bucket_region = bucket_region or (_region_from_endpoint(endpoint_url) if endpoint_url else None)
        self._region_lock = threading.Lock()
        self.url_style: UrlStyle = url_style or ("mrap" if mrap_arn else guess_url_style(endpoint_url))
        if self.url_style == "mrap" and not mrap_arn:
            raise ValueError("url_style='mrap' needs mrap_arn")
        self.mrap_arn = mrap_arn
        self.page_size = page_size
        self.multipart_threshold = multipart_threshold
        self.multipart_chunksize = multipart_chunksize

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r}, region={self.region!r})"

    @property
    def bucket_region(self) -> str:
        """The region named in object URLs: looked up once per store (see the module doc)."""
        if self._bucket_region is None:
            with self._region_lock:
                if self._bucket_region is None:
                    self._bucket_region = self._lookup_region()
        return self._bucket_region

    def _lookup_region(self) -> str:
        errors: list[str] = []
        try:
            answer = self.client.get_bucket_location(Bucket=self.bucket)
            return normalise_location(answer.get("LocationConstraint"))
        except Exception as err:  # AccessDenied is common: GetBucketLocation needs its own permission
            errors.append(f"GetBucketLocation: {_error_text(err)}")
        try:
            headers = self.client.head_bucket(Bucket=self.bucket)["ResponseMetadata"]["HTTPHeaders"]
        except Exception as err:  # AWS sends the region header even with a 403 or 301 answer
            headers = (
                (getattr(err, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPHeaders", {})
            )
            errors.append(f"HeadBucket: {_error_text(err)}")
        if headers.get("x-amz-bucket-region"):
            return normalise_location(headers["x-amz-bucket-region"])
        log.warning(
            "region of bucket %r not found (%s); object URLs name the client region %s: set bucket_region "
            "if that is wrong",
            self.bucket, "; ".join(errors), self.region,
        )  # fmt: skip
        return self.region

    def object_url(self, key: str) -> str:
        if self.url_style == "otc":
            return otc_object_url(self.bucket, key, self._bucket_region or self.region)
        if self.url_style == "mrap":
            assert self.mrap_arn is not None
            return mrap_object_url(self.mrap_arn, key)
        if self.url_style == "endpoint":
            return f"{self.endpoint_url.rstrip('/')}/{self.bucket}/{quote_key(key)}"
        return s3_object_url(self.bucket, key, self.bucket_region)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _record(self, item: dict[str, Any]) -> ObjectRecord:
        key = item["Key"]
        return ObjectRecord(
            url=self.object_url(key),
            key=key,
            size=item["Size"],
            etag=strip_etag(item.get("ETag")),
            last_modified=item["LastModified"],
        )

    def _pages(self, prefix: str, start_after: str | None, delimiter: str | None) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": self.page_size}
        if start_after:
            request["StartAfter"] = start_after
        if delimiter:
            request["Delimiter"] = delimiter
        while True:
            page = self.client.list_objects_v2(**request)
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            request["ContinuationToken"] = token

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectRecord]:
        for page in self._pages(prefix, start_after, None):
            for item in page.get("Contents", ()):
                yield self._record(item)

    def list_level(self, prefix: str = "", delimiter: str = "/") -> Iterator[ObjectRecord | str]:
        for page in self._pages(prefix, None, delimiter):
            entries: list[tuple[str, ObjectRecord | str]] = [
                (item["Key"], self._record(item)) for item in page.get("Contents", ())
            ]
            entries += [(p["Prefix"], p["Prefix"]) for p in page.get("CommonPrefixes", ())]
            entries.sort(key=lambda entry: entry[0])
            for _, entry in entries:
                yield entry

    def _missing(self, err: Exception) -> bool:
        response = getattr(err, "response", None) or {}
        return str(response.get("Error", {}).get("Code")) in _MISSING_CODES

    def stat(self, key: str) -> ObjectRecord:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as err:
            if self._missing(err):
                raise ObjectNotFoundError(self.uri(key)) from err
            raise
        return ObjectRecord(
            url=self.object_url(key),
            key=key,
            size=head["ContentLength"],
            etag=strip_etag(head.get("ETag")),
            last_modified=head["LastModified"],
        )

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)  # S3 answers 204 for a missing key too

    def _get(self, key: str, **extra: Any) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
        except self.client.exceptions.ClientError as err:
            if self._missing(err):
                raise ObjectNotFoundError(self.uri(key)) from err
            if err.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""
            raise
        body: bytes = response["Body"].read()
        return body

    def read_bytes(self, key: str) -> bytes:
        return self._get(key)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Up to `length` bytes from offset `start`; empty past the end of the object."""
        check_range(start, length)
        if length == 0:
            return b""
        return self._get(key, Range=f"bytes={start}-{start + length - 1}")

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)

    def write_file(self, key: str, path: str | os.PathLike[str], content_type: str | None = None) -> None:
        """Streams the file; above `multipart_threshold` as a multipart upload of `multipart_chunksize` parts."""
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=self.multipart_threshold, multipart_chunksize=self.multipart_chunksize
        )
        extra = {"ContentType": content_type} if content_type else None
        self.client.upload_file(os.fspath(path), self.bucket, key, ExtraArgs=extra, Config=config)

    # -- conditional writes (ConditionalStore) ---------------------------------------------------

    def read_versioned(self, key: str) -> tuple[bytes, str]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as err:
            if self._missing(err):
                raise ObjectNotFoundError(self.uri(key)) from err
            raise
        body: bytes = response["Body"].read()
        return body, strip_etag(response.get("ETag"))

    def write_conditional(
        self, key: str, data: bytes, *, if_version: str | None, content_type: str | None = None
    ) -> str:
        """PutObject with `If-None-Match: *` (create) or `If-Match: <etag>` (replace)."""
        condition = {"IfNoneMatch": "*"} if if_version is None else {"IfMatch": f'"{if_version}"'}
        extra = {"ContentType": content_type} if content_type else {}
        try:
            response = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **condition, **extra)
        except self.client.exceptions.ClientError as err:
            code = str((getattr(err, "response", None) or {}).get("Error", {}).get("Code"))
            if code in _CONDITION_CODES or (if_version is not None and self._missing(err)):
                raise PreconditionFailedError(self.uri(key), f"{next(iter(condition))} ({code})") from err
            raise
        return strip_etag(response.get("ETag"))


def open_s3_store(bucket: str, connection: Any, endpoint_url: str | None, **store_kwargs: Any) -> S3Store:
    """The registry's opener. Without a connection: default AWS credentials. With one: through the amazon
    provider's S3Hook, so its session, role assumption, region, `endpoint_url` and botocore `config_kwargs`
    (e.g. `{"s3": {"addressing_style": "path"}}`) all apply; an explicit `endpoint_url` replaces only the
    connection's endpoint. Extras `url_style`, `mrap_arn` and `bucket_region` (the region object URLs
    name; default: looked up) go to the store."""
    if connection is None:
        return _environment_store(bucket, endpoint_url, store_kwargs)
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    def build() -> tuple[Any, str | None, str | None]:
        hook = S3Hook(aws_conn_id=connection.conn_id)
        region = hook.conn_region_name
        if endpoint_url:
            session = hook.get_session(region_name=region)  # the connection's role, if any, is assumed
            client = session.client("s3", endpoint_url=endpoint_url, config=hook.config, verify=hook.verify)
            return client, endpoint_url, region
        return hook.get_conn(), hook.conn_config.get_service_endpoint_url("s3"), region

    key = ("s3", connection.conn_id, endpoint_url, connection_fingerprint(connection))
    client, endpoint_url, region = shared_client(key, build)
    extra = connection.extra_dejson
    kwargs: dict[str, Any] = {"client": client, "endpoint_url": endpoint_url, "region": region}
    kwargs.update(
        {name: extra[name] for name in ("url_style", "mrap_arn", "bucket_region") if extra.get(name)}
    )
    return S3Store(bucket, **{**kwargs, **store_kwargs})


_CLIENT_ARGS = {"region", "addressing_style"}
_STORE_ARGS = {
    "bucket_region",
    "url_style",
    "mrap_arn",
    "page_size",
    "multipart_threshold",
    "multipart_chunksize",
}


def _environment_store(bucket: str, endpoint_url: str | None, store_kwargs: dict[str, Any]) -> S3Store:
    """An S3Store on the environment's credentials, its client shared per endpoint and AWS_* settings."""
    if set(store_kwargs) - _CLIENT_ARGS - _STORE_ARGS:  # a client, credentials or botocore options given
        return S3Store(bucket, endpoint_url=endpoint_url, **store_kwargs)
    client_args = {k: v for k, v in store_kwargs.items() if k in _CLIENT_ARGS}
    environment = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    client = shared_client(
        ("s3", "environment", endpoint_url, fingerprint(client_args, environment)),
        lambda: make_s3_client(endpoint_url=endpoint_url, **client_args),
    )
    return S3Store(bucket, client=client, endpoint_url=endpoint_url, **store_kwargs)


_S3_MISSING = {"NoSuchBucket"}
_S3_ACCESS = {
    "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
    "ExpiredToken", "AuthorizationHeaderMalformed", "403", "401",
}  # fmt: skip


def classify_s3_error(err: BaseException) -> StoreProblem | None:
    """What an error of this SDK says about the bucket (storage.probe.classify); None: something else."""
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
