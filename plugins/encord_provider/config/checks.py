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
