"""S3 family backends on moto: ``aws`` (AWS hosts, Multi-Region Access Points) and S3-compatible clouds
(``s3_compatible``, ``otc``: Open Telekom Cloud OBS hosts)."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from encord_emulator.clouds.base import (
    NoArnUrls,
    ObjectInfo,
    ObjectLocation,
    UrlError,
    path_style,
    split_bucket_key,
)

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
_MISSING_CODES = ("404", "NoSuchKey", "NoSuchBucket", "NotFound")


class S3Api:
    """Object access through boto3 (shared by every S3-family backend)."""

    uri_scheme = "s3"

    def integration_fields(self, entry: dict[str, Any]) -> dict[str, Any]:
        return dict(entry)

    def make_client(self, integration: dict[str, Any]) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=integration.get("endpoint_url"),
            region_name=integration.get("region") or "us-east-1",
            aws_access_key_id=integration.get("access_key_id") or "testing",
            aws_secret_access_key=integration.get("secret_access_key") or "testing",
            config=Config(max_pool_connections=16, retries={"max_attempts": 2}),
        )

    def head(self, client: Any, loc: ObjectLocation) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        try:
            head = client.head_object(Bucket=loc.bucket, Key=loc.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                return None
            raise
        return ObjectInfo(int(head["ContentLength"]), head.get("ContentType"))

    def read(self, client: Any, loc: ObjectLocation, length: int | None) -> bytes:
        extra = {"Range": f"bytes=0-{length - 1}"} if length else {}
        return bytes(client.get_object(Bucket=loc.bucket, Key=loc.key, **extra)["Body"].read())

    def signed_url(self, client: Any, integration: dict[str, Any], loc: ObjectLocation, expires: int) -> str:
        params = {"Bucket": loc.bucket, "Key": loc.key}
        return str(client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires))


class AwsBackend(S3Api):
    provider = "aws"
    storage_location = "s3"

    def host_location(self, host: str, path: str, integration: dict[str, Any]) -> ObjectLocation | None:
        if match := _MRAP_HOST.match(host):
            return _access_point_location(match.group("alias"), path, integration, host)
        if _S3_PATH_HOST.match(host):
            return path_style(path, host)
        if match := _S3_VHOST.match(host):
            return split_bucket_key(match.group("bucket"), path, host)
        return None

    def arn_url_location(self, url: str, integration: dict[str, Any]) -> ObjectLocation:
        """The MRAP form of Encord's guide, with the ARN in the host position (urlsplit cannot parse it)."""
        match = _MRAP_ARN_URL.match(url)
        if match is None:
            raise UrlError(f"malformed S3 Multi-Region Access Point URL: {url}")
        path = re.split(r"[?#]", match.group("path") or "", maxsplit=1)[0]
        key = urllib.parse.unquote(path.removeprefix("/"))
        return _access_point_location(match.group("alias"), key, integration, url)


class S3CompatibleBackend(NoArnUrls, S3Api):
    """``s3_compatible`` and ``otc``: OBS virtual-hosted and path-style hosts."""

    def __init__(self, provider: str, storage_location: str) -> None:
        self.provider = provider
        self.storage_location = storage_location

    def host_location(self, host: str, path: str, integration: dict[str, Any]) -> ObjectLocation | None:
        if match := _OTC_VHOST.match(host):
            return split_bucket_key(match.group("bucket"), path, host)
        if _OTC_PATH_HOST.match(host):
            return path_style(path, host)
        return None


def _access_point_location(alias: str, key: str, integration: dict[str, Any], url: str) -> ObjectLocation:
    """An access point alias maps to its bucket through the integration's ``access_points``."""
    bucket = str((integration.get("access_points") or {}).get(alias, alias))
    return split_bucket_key(bucket, key, url)
