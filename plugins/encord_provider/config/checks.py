"""Field checks shared by the pipeline models, so a bad value fails when the file is parsed (with its
file and line), not when a task first uses it."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

# Airflow's own rule for connection ids (airflow.utils.helpers.validate_key)
_CONN_ID = re.compile(r"^[\w.-]{1,250}$")


def check_conn_id(value: str | None) -> str | None:
    if value is not None and not _CONN_ID.match(value):
        raise ValueError(f"{value!r} is not an Airflow connection id (letters, digits, '_', '.', '-')")
    return value


def check_http_url(value: str | None) -> str | None:
    """An http(s) URL with a host (an endpoint or queue URL)."""
    if value is None:
        return value
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError as err:
        raise ValueError(f"{value!r} is not a valid URL: {err}") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not port_ok
        or any(c.isspace() for c in value)
    ):
        raise ValueError(f"{value!r} must be an http:// or https:// URL with a host")
    return value


def one_of(values: tuple[str, ...]) -> str:
    """`Input should be 'a', 'b' or 'c'`: pydantic's wording for a Literal, for choices known at run time."""
    quoted = [repr(value) for value in values]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"Input should be {listed}"


def check_source_cloud(value: str) -> str:
    """A cloud a source bucket may live in: a `storage.registry` backend with the "source" role."""
    from encord_provider.storage import registry

    if value not in registry.clouds("source"):
        raise ValueError(one_of(registry.clouds("source")))
    return value


def check_data_type(value: str) -> str:
    """A data type as config spells it ("dicom"); the manifest spelling ("dicom_series") is accepted too and
    read as the config one. See manifests.datatypes.TYPES."""
    from encord_provider.manifests.datatypes import CONFIG_NAMES, config_name, parse_data_type

    try:
        return config_name(parse_data_type(value))
    except ValueError:
        raise ValueError(one_of(CONFIG_NAMES)) from None


def check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"invalid regular expression {value!r}: {err}") from None
    return value


ConnId = Annotated[str, AfterValidator(check_conn_id)]
OptionalConnId = Annotated[str | None, AfterValidator(check_conn_id)]
HttpUrl = Annotated[str | None, AfterValidator(check_http_url)]
Regex = Annotated[str | None, AfterValidator(check_regex)]
LOCAL_CLOUD = "local"  # `source.cloud` of a directory on the worker (storage.registry's file:// backend)


def check_local_path(value: str) -> str:
    """An absolute directory path, checked for syntax only: it must exist on the worker at run time."""
    if "\x00" in value or not value.startswith("/") or "://" in value:
        raise ValueError(
            f"path {value!r} must be an absolute directory path on the worker, e.g. /mnt/nfs/scans"
        )
    if any(part == ".." for part in value.split("/")):
        raise ValueError(f"path {value!r} must not contain '..'")
    return value.rstrip("/") or "/"


Cloud = Annotated[str, AfterValidator(check_source_cloud)]  # s3, gcs, azure: see storage.registry
DataTypeName = Annotated[str, AfterValidator(check_data_type)]  # image, video, dicom...: manifests.datatypes
