"""Asset URIs of the provider: `encord://<pipeline>/ingested` (an ingest run registered or linked new items)
and `encord://<project>/labels` (an export wrote a label version).

`normalize_encord_uri` is the `encord` scheme's handler in `get_provider_info()["asset-uris"]`: Airflow
calls it on every `Asset("encord://...")`, so a malformed URI fails when the DAG is parsed, naming it.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlunsplit

SCHEME = "encord"


def ingest_asset_uri(pipeline: str) -> str:
    return f"{SCHEME}://{pipeline}/ingested"


def labels_asset_uri(project: str) -> str:
    return f"{SCHEME}://{project}/labels"


def normalize_encord_uri(parts: SplitResult) -> SplitResult:
    """Require a name (pipeline or project) and what happened to it (`/ingested`, `/labels`, ...)."""
    if not parts.netloc:
        raise ValueError(
            f"Asset URI {urlunsplit(parts)!r}: name the pipeline or project, e.g. encord://demo/ingested"
        )
    if parts.path in ("", "/"):
        raise ValueError(f"Asset URI {urlunsplit(parts)!r}: add what the asset is, e.g. /ingested or /labels")
    return parts
