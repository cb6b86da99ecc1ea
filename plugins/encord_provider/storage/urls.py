"""Object URLs in the forms Encord documents for each cloud integration, and back to (bucket, key).

Forms (from Encord's getting-started guide):
- AWS S3:      https://<bucket>.s3.<region>.amazonaws.com/<key>
- S3 MRAP:     https://<MRAP-ARN or alias>.mrap.s3-accesspoint.amazonaws.com/<key>
- GCP:         https://storage.cloud.google.com/<bucket>/<key>   (or gs://<bucket>/<key>, key verbatim)
- Azure:       https://<account>.blob.core.windows.net/<container>/<key>
- OTC OBS:     https://<bucket>.obs.<region>.otc.t-systems.com/<key>

Keys are percent-encoded per RFC 3986 with only `/` and the unreserved characters left as they are, so a
space becomes `%20` and `+` becomes `%2B`. A literal `+` is therefore never emitted, and a URL decodes to
the same key whether the reader treats `+` as a plus or (like the S3 console) as a space.

Some legal keys have no URL that names them safely; `url_key_problem` says why, and the manifest builder
rejects such objects instead of registering a URL that resolves to another object:
- a `.` or `..` path segment (`a/../b.jpg`, `./x`, `a/.`): RFC 3986 clients (requests, urllib3, browsers)
  remove dot segments before sending, and `%2E` does not help, since it is the same unreserved character
  (WHATWG parsers treat `%2e%2e` as `..` too);
- in a verbatim `gs://` URI also `?`, `#` (read as query / fragment), `%XX` (percent-decoded by readers
  that unquote) and control characters (URL parsers strip tabs and newlines).
Empty segments (`a//b`, a leading `/`) survive RFC 3986 normalisation and are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from encord_provider.storage.errors import UnsupportedUriError

Cloud = Literal["aws", "mrap", "gcp", "azure", "otc"]

_SAFE = "/-_.~"  # quote() always keeps ASCII letters and digits too
_S3_HOST = re.compile(r"^(?P<bucket>.+)\.s3[.-](?P<region>[a-z0-9-]+)\.amazonaws\.com$")
_S3_GLOBAL_HOST = re.compile(r"^(?P<bucket>.+)\.s3\.amazonaws\.com$")
_MRAP_HOST = re.compile(
    r"^(?P<alias>[^.]+)\.mrap\.(?:s3-accesspoint|accesspoint\.s3-global)\.amazonaws\.com$"
)
_OTC_HOST = re.compile(r"^(?P<bucket>.+)\.obs\.(?P<region>[a-z0-9-]+)\.otc\.t-systems\.com$")
_AZURE_HOST = re.compile(r"^(?P<account>[a-z0-9]+)\.blob\.core\.windows\.net$")
_GCS_HOSTS = ("storage.cloud.google.com", "storage.googleapis.com")


@dataclass(frozen=True, slots=True)
class ObjectLocation:
    """Where an object URL points. `bucket` is the container for Azure and the MRAP ARN for MRAP."""

    cloud: Cloud
    bucket: str
    key: str
    region: str | None = None
    account: str | None = None


_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_dot_segment(key: str) -> bool:
    """True if a `/`-separated segment of `key` is `.` or `..`."""
    return "." in key and (
        key in (".", "..")
        or key.startswith(("./", "../"))
        or key.endswith(("/.", "/.."))
        or "/./" in key
        or "/../" in key
    )


def url_key_problem(key: str, url: str) -> str | None:
    """Why `url`, built for `key` by one of the `*_object_url` forms, might name another object; else None."""
    if has_dot_segment(key):
        return "key has a '.' or '..' path segment; HTTP clients normalise the URL (RFC 3986) to another key"
    if url.startswith("gs://"):
        if "?" in key or "#" in key:
            return "key holds '?' or '#', which a gs:// URI reads as query or fragment; use url_style https"
        if _PERCENT_ESCAPE.search(key):
            return "key holds a %XX sequence that readers of a gs:// URI percent-decode; use url_style https"
        if _CONTROL.search(key):
            return (
                "key holds control characters, which URL parsers strip from a gs:// URI; use url_style https"
            )
    return None


def quote_key(key: str) -> str:
    return quote(key, safe=_SAFE)


def s3_object_url(bucket: str, key: str, region: str) -> str:
    return f"https://{bucket}.s3.{region}.amazonaws.com/{quote_key(key)}"


def mrap_object_url(mrap_arn: str, key: str) -> str:
    """`mrap_arn` as Encord's guide shows it (`arn:aws:s3::123123123:accesspoint/frf28frarf9`) or just the
    access point alias (`frf28frarf9`), which is the form the AWS endpoint itself uses."""
    return f"https://{mrap_arn}.mrap.s3-accesspoint.amazonaws.com/{quote_key(key)}"


def otc_object_url(bucket: str, key: str, region: str) -> str:
    return f"https://{bucket}.obs.{region}.otc.t-systems.com/{quote_key(key)}"


def gcs_object_url(bucket: str, key: str, style: Literal["https", "gs"] = "https") -> str:
    if style == "gs":  # gs:// URIs carry the key verbatim, as gsutil and the client libraries do
        return f"gs://{bucket}/{key}"
    return f"https://storage.cloud.google.com/{bucket}/{quote_key(key)}"


def azure_object_url(account: str, container: str, key: str) -> str:
    return f"https://{account}.blob.core.windows.net/{container}/{quote_key(key)}"


def parse_object_url(url: str) -> ObjectLocation:
    """Invert the `*_object_url` functions; raises UnsupportedUriError naming the URL otherwise."""
    if url.startswith("https://arn:"):  # the MRAP ARN contains ':' and '/', so urlsplit cannot parse it
        return _parse_mrap(url)
    if url.startswith("gs://"):
        bucket, _, key = url[len("gs://") :].partition("/")
        if not bucket or not key:
            raise UnsupportedUriError(f"gs:// object URL needs a bucket and a key: {url!r}")
        return ObjectLocation("gcp", bucket, key)
    parts = urlsplit(url)
    host, path = parts.netloc.lower(), parts.path
    if parts.query or parts.fragment:
        raise UnsupportedUriError(f"object URL has a query or fragment (an unquoted '?' or '#'?): {url!r}")
    if parts.scheme != "https":
        raise UnsupportedUriError(f"not an https:// or gs:// object URL: {url!r}")
    if host in _GCS_HOSTS:
        bucket, _, rest = path.lstrip("/").partition("/")
        return ObjectLocation("gcp", bucket, _key("/" + rest, url))
    if match := _MRAP_HOST.match(host):
        return ObjectLocation("mrap", match["alias"], _key(path, url))
    if match := _OTC_HOST.match(host):
        return ObjectLocation("otc", match["bucket"], _key(path, url), region=match["region"])
    if match := _S3_HOST.match(host):
        return ObjectLocation("aws", match["bucket"], _key(path, url), region=match["region"])
    if match := _S3_GLOBAL_HOST.match(host):
        return ObjectLocation("aws", match["bucket"], _key(path, url), region="us-east-1")
    if match := _AZURE_HOST.match(host):
        container, _, rest = path.lstrip("/").partition("/")
        return ObjectLocation("azure", container, _key("/" + rest, url), account=match["account"])
    raise UnsupportedUriError(f"unrecognised object URL host {host!r} in {url!r}")


def key_from_url(url: str) -> str:
    """The object key an object URL points at."""
    return parse_object_url(url).key


def _parse_mrap(url: str) -> ObjectLocation:
    marker = ".mrap.s3-accesspoint.amazonaws.com/"
    head, sep, quoted_key = url.removeprefix("https://").partition(marker)
    if not sep or not head:
        raise UnsupportedUriError(f"malformed S3 Multi-Region Access Point URL: {url!r}")
    return ObjectLocation("mrap", head, _key("/" + quoted_key, url))


def _key(path: str, url: str) -> str:
    if not path.startswith("/") or len(path) < 2:
        raise UnsupportedUriError(f"object URL has no object key: {url!r}")
    return unquote(path[1:], errors="strict")
