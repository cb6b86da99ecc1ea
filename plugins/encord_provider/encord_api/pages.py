"""Addresses of Encord's web app pages (for Airflow's extra links), derived from the API domain.

`https://api.encord.com` -> `https://app.encord.com` (the same for `api.us.`); any other domain (a private
deployment or the local emulator) is used as it is.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

PAGES = {
    "project": "/projects/view/{id}/summary",
    "dataset": "/datasets/view/{id}",
    "folder": "/index/folders/{id}",
}


def app_base(api_domain: str) -> str:
    parts = urlsplit(api_domain.rstrip("/"))
    host = parts.netloc
    if host.startswith("api.") and host.endswith("encord.com"):
        host = "app." + host[len("api.") :]
    return urlunsplit((parts.scheme or "https", host, "", "", ""))


def page_url(api_domain: str, page: str, identifier: str) -> str:
    """The app page of a project, dataset or folder (`page` is a key of `PAGES`)."""
    return app_base(api_domain) + PAGES[page].format(id=quote(identifier, safe=""))
