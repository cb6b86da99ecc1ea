"""Resolve object URLs through a cloud integration and read the objects from local stand-ins.

Integrations point at moto (S3 / S3-compatible / OTC), fake-gcs-server (GCP) or Azurite (Azure)
through their ``endpoint_url``. URL forms accepted are listed in README_DEV.md.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

PROVIDERS = ("aws", "s3_compatible", "otc", "gcp", "azure")
S3_FAMILY = ("aws", "s3_compatible", "otc")
MAX_URL_BYTES = 16 * 1024

_S3_VHOST = re.compile(r"^(?P<bucket>.+)\.s3(?:[.-](?P<region>[a-z0-9-]+))?\.amazonaws\.com$")
_S3_PATH_HOST = re.compile(r"^s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$")
_MRAP_HOST = re.compile(
    r"^(?P<alias>[^.]+)\.mrap\.(?:s3-accesspoint|accesspoint\.s3-global)\.amazonaws\.com$"
)
# `https://arn:aws:s3::<account>:accesspoint/<alias>.mrap.s3-accesspoint.amazonaws.com/<key>`
_MRAP_ARN_URL = re.compile(
    r"^https://arn:[a-z0-9-]+:s3::[0-9]*:accesspoint/(?P<alias>[^/.]+)"
    r"\.mrap\.(?:s3-accesspoint|accesspoint\.s3-global)\.amazonaws\.com(?P<path>/.*)?$",
    re.IGNORECASE | re.DOTALL,
)
_OTC_VHOST = re.compile(r"^(?P<bucket>.+)\.obs\.[a-z0-9-]+\.otc\.t-systems\.com$")
_OTC_PATH_HOST = re.compile(r"^obs\.[a-z0-9-]+\.otc\.t-systems\.com$")
_GCS_HOSTS = ("storage.cloud.google.com", "storage.googleapis.com")
_AZURE_HOST = re.compile(r"^(?P<account>[a-z0-9]+)\.blob\.core\.windows\.net$")


class UrlError(ValueError):
    """The URL is malformed or does not belong to the integration's cloud."""


@dataclass(frozen=True)
class ObjectLocation:
    bucket: str
    key: str


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str | None


def parse_object_url(url: str, integration: dict[str, Any]) -> ObjectLocation:
    """Map ``url`` to (bucket/container, key) for ``integration`` (raises UrlError)."""
    if len(url.encode("utf-8")) > MAX_URL_BYTES:
        raise UrlError(f"URL is longer than {MAX_URL_BYTES} bytes")
    provider = integration["provider"]
    scheme, has_scheme, rest = url.partition("://")
    scheme = scheme.lower() if has_scheme else ""
    if scheme in ("s3", "gs"):
        return _bucket_uri_location(scheme, rest, provider, url)
    if scheme == "https" and rest[:4].lower() == "arn:":
        return _mrap_arn_location(url, integration)
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("http", "https"):
        raise UrlError(f"unsupported URL scheme {parts.scheme.lower()!r}")
    path = urllib.parse.unquote(parts.path.removeprefix("/"))
    own = _own_endpoint_location(parts, path, integration)
    if own is not None:
        return own
    location = _cloud_host_location(provider, host, path, integration)
    if location is None:
        raise UrlError(f"host {host!r} is not a {provider} object URL")
    return location


def _bucket_uri_location(scheme: str, rest: str, provider: str, url: str) -> ObjectLocation:
    """``s3://`` and ``gs://`` URIs carry the key verbatim: a ``#`` or ``?`` in it is part of the key."""
    expected = {"gcp": "gs", **dict.fromkeys(S3_FAMILY, "s3")}.get(provider)
    if scheme != expected:
        raise UrlError(f"{scheme}:// URL cannot be read through a {provider} integration")
    bucket, _, key = rest.partition("/")
    return _split_bucket_key(bucket, key, url)


def _mrap_arn_location(url: str, integration: dict[str, Any]) -> ObjectLocation:
    """The MRAP form of Encord's guide, with the ARN in the host position (urlsplit cannot parse it)."""
    provider = integration["provider"]
    if provider != "aws":
        raise UrlError(f"S3 Multi-Region Access Point URL cannot be read through a {provider} integration")
    match = _MRAP_ARN_URL.match(url)
    if match is None:
        raise UrlError(f"malformed S3 Multi-Region Access Point URL: {url}")
    path = re.split(r"[?#]", match.group("path") or "", maxsplit=1)[0]
    key = urllib.parse.unquote(path.removeprefix("/"))
    return _access_point_location(match.group("alias"), key, integration, url)


def _access_point_location(alias: str, key: str, integration: dict[str, Any], url: str) -> ObjectLocation:
    """An access point alias maps to its bucket through the integration's ``access_points``."""
    bucket = str((integration.get("access_points") or {}).get(alias, alias))
    return _split_bucket_key(bucket, key, url)


def _split_bucket_key(bucket: str, key: str, url: str) -> ObjectLocation:
    if not bucket or not key:
        raise UrlError(f"URL names no bucket and key: {url}")
    return ObjectLocation(bucket, key)


def _own_endpoint_location(
    parts: urllib.parse.SplitResult, path: str, integration: dict[str, Any]
) -> ObjectLocation | None:
    endpoint = urllib.parse.urlsplit(str(integration.get("endpoint_url") or ""))
    if not endpoint.netloc or parts.netloc.lower() != endpoint.netloc.lower():
        return None
    prefix = urllib.parse.unquote(endpoint.path.strip("/"))
    if prefix:
        if not path.startswith(prefix + "/"):
            return None
        path = path[len(prefix) + 1 :]
    bucket, _, key = path.partition("/")
    return _split_bucket_key(bucket, key, parts.geturl())


def _cloud_host_location(
    provider: str, host: str, path: str, integration: dict[str, Any]
) -> ObjectLocation | None:
    if provider == "aws":
        if match := _MRAP_HOST.match(host):
            return _access_point_location(match.group("alias"), path, integration, host)
        if match := _S3_VHOST.match(host):
            if not _S3_PATH_HOST.match(host):
                return _split_bucket_key(match.group("bucket"), path, host)
        if _S3_PATH_HOST.match(host):
            bucket, _, key = path.partition("/")
            return _split_bucket_key(bucket, key, host)
    if provider in ("s3_compatible", "otc"):
        if match := _OTC_VHOST.match(host):
            return _split_bucket_key(match.group("bucket"), path, host)
        if _OTC_PATH_HOST.match(host):
            bucket, _, key = path.partition("/")
            return _split_bucket_key(bucket, key, host)
    if provider == "gcp" and host in _GCS_HOSTS:
        bucket, _, key = path.partition("/")
        return _split_bucket_key(bucket, key, host)
    if provider == "azure" and (match := _AZURE_HOST.match(host)):
        account = integration.get("account_name")
        if account and match.group("account") != account:
            raise UrlError(f"storage account {match.group('account')!r} is not the integration's {account!r}")
        container, _, key = path.partition("/")
        return _split_bucket_key(container, key, host)
    return None


class CloudReader:
    """Cached storage clients per integration; HEAD, range reads and downloadable URLs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def head(self, integration: dict[str, Any], loc: ObjectLocation) -> ObjectInfo | None:
        """Size and content type, or None if the object does not exist."""
        provider = integration["provider"]
        client = self._client(integration)
        if provider in S3_FAMILY:
            from botocore.exceptions import ClientError

            try:
                head = client.head_object(Bucket=loc.bucket, Key=loc.key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in (
                    "404",
                    "NoSuchKey",
                    "NoSuchBucket",
                    "NotFound",
                ):
                    return None
                raise
            return ObjectInfo(int(head["ContentLength"]), head.get("ContentType"))
        if provider == "gcp":
            blob = client.bucket(loc.bucket).get_blob(loc.key)
            return None if blob is None else ObjectInfo(int(blob.size or 0), blob.content_type)
        from azure.core.exceptions import ResourceNotFoundError

        try:
            props = client.get_blob_client(loc.bucket, loc.key).get_blob_properties()
        except ResourceNotFoundError:
            return None
        return ObjectInfo(int(props.size), props.content_settings.content_type)

    def read(self, integration: dict[str, Any], loc: ObjectLocation, length: int | None = None) -> bytes:
        """The first ``length`` bytes (all when None)."""
        provider = integration["provider"]
        client = self._client(integration)
        if provider in S3_FAMILY:
            extra = {"Range": f"bytes=0-{length - 1}"} if length else {}
            return bytes(client.get_object(Bucket=loc.bucket, Key=loc.key, **extra)["Body"].read())
        if provider == "gcp":
            blob = client.bucket(loc.bucket).blob(loc.key)
            return bytes(blob.download_as_bytes(start=0, end=length - 1 if length else None))
        stream = client.get_blob_client(loc.bucket, loc.key).download_blob(offset=0, length=length)
        return bytes(stream.readall())

    def signed_url(
        self, integration: dict[str, Any], loc: ObjectLocation, expires_seconds: int = 3600
    ) -> str:
        """A URL a plain HTTP GET can download from the local stand-in."""
        provider = integration["provider"]
        if provider in S3_FAMILY:
            return str(
                self._client(integration).generate_presigned_url(
                    "get_object", Params={"Bucket": loc.bucket, "Key": loc.key}, ExpiresIn=expires_seconds
                )
            )
        endpoint = str(integration["endpoint_url"]).rstrip("/")
        if provider == "gcp":
            quoted = urllib.parse.quote(loc.key, safe="")
            return f"{endpoint}/download/storage/v1/b/{loc.bucket}/o/{quoted}?alt=media"
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        sas = generate_blob_sas(
            account_name=integration["account_name"],
            container_name=loc.bucket,
            blob_name=loc.key,
            account_key=integration["account_key"],
            permission=BlobSasPermissions(read=True),
            expiry=datetime.now(UTC) + timedelta(seconds=expires_seconds),
        )
        return f"{endpoint}/{loc.bucket}/{urllib.parse.quote(loc.key)}?{sas}"

    def forget(self, integration_uuid: str) -> None:
        with self._lock:
            self._clients.pop(integration_uuid, None)

    def _client(self, integration: dict[str, Any]) -> Any:
        with self._lock:
            client = self._clients.get(integration["uuid"])
            if client is None:
                client = _make_client(integration)
                self._clients[integration["uuid"]] = client
            return client


def _make_client(integration: dict[str, Any]) -> Any:
    provider = integration["provider"]
    endpoint = integration.get("endpoint_url")
    if provider in S3_FAMILY:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=integration.get("region") or "us-east-1",
            aws_access_key_id=integration.get("access_key_id") or "testing",
            aws_secret_access_key=integration.get("secret_access_key") or "testing",
            config=Config(max_pool_connections=16, retries={"max_attempts": 2}),
        )
    if provider == "gcp":
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=integration.get("project") or "test-project",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": endpoint} if endpoint else None,
        )
    from azure.storage.blob import BlobServiceClient

    if integration.get("connection_string"):
        return BlobServiceClient.from_connection_string(integration["connection_string"])
    return BlobServiceClient(
        account_url=str(endpoint),
        credential={"account_name": integration["account_name"], "account_key": integration["account_key"]},
    )
