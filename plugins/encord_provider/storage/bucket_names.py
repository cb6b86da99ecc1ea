"""Each cloud's bucket (container) naming rules, checked before any request is made.

A name that breaks them can never work: S3 and GCS reject it or (for S3's legacy names) cannot serve it
through the virtual-hosted URLs Encord reads; Azure rejects it. Checking early turns a late SDK error
into one line that names the bucket.
"""

from __future__ import annotations

import ipaddress
import re

_S3_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_GCS_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$")
_GCS_GOOGLE = re.compile(r"g[o0]{2}g[l1]e")
_AZURE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")
_AZURE_SPECIAL = frozenset({"$root", "$web", "$logs"})
RULES = {
    "s3": "3-63 characters: lower-case letters, digits, '.' and '-', starting and ending with a letter or digit",
    "gs": "3-63 characters (222 with dots): lower-case letters, digits, '-', '_' and '.', starting and "
    "ending with a letter or digit",
    "az": "3-63 characters: lower-case letters, digits and single '-' between them, starting with a letter "
    "or digit",
}


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def s3_problem(name: str) -> str | None:
    if not _S3_NAME.match(name) or ".." in name:
        return RULES["s3"]
    if _is_ip(name):
        return "must not look like an IP address"
    if name.startswith(_S3_RESERVED_PREFIXES) or name.endswith(_S3_RESERVED_SUFFIXES):
        return "uses a prefix or suffix S3 reserves"
    return None


def gcs_problem(name: str) -> str | None:
    parts = name.split(".")
    too_long = len(name) > (222 if len(parts) > 1 else 63) or any(len(part) > 63 for part in parts)
    if len(name) < 3 or too_long or not _GCS_NAME.match(name) or ".." in name:
        return RULES["gs"]
    if _is_ip(name):
        return "must not look like an IP address"
    if name.startswith("goog") or _GCS_GOOGLE.search(name):
        return "must not start with 'goog' or contain 'google'"
    return None


def azure_problem(name: str) -> str | None:
    if name in _AZURE_SPECIAL or _AZURE_NAME.match(name):
        return None
    return RULES["az"]


def bucket_name_problem(scheme: str, name: str) -> str | None:
    """Why `name` is not a valid bucket (container) name for `scheme`, or None (also for a backend with no
    naming rules)."""
    from encord_provider.storage import registry

    backend = registry.find(scheme)
    check = backend.bucket_problem if backend else None
    if check is None:
        return None
    problem = check(name)
    return None if problem is None else f"invalid {scheme}:// bucket name {name!r}: {problem}"


def check_bucket_name(scheme: str, name: str) -> str:
    """`name`, or a ValueError saying which rule it breaks."""
    problem = bucket_name_problem(scheme, name)
    if problem is not None:
        raise ValueError(problem)
    return name
