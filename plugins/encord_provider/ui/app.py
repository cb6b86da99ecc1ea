"""The FastAPI app behind the "Encord pipelines" page, mounted by Airflow's api-server at `URL_PREFIX`.

Reads the pipelines file, opens each staging and warehouse bucket through its Airflow connection, and
renders `encord_provider.reports`. Callers need read access to DAGs (the UI's session cookie or a bearer
token), like the rest of the UI.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse

URL_PREFIX = "/encord-pipelines"


def _open_warehouse(uri: str, endpoint_url: str | None, conn_id: str | None) -> Any:
    from encord_provider.storage.factory import store_from_url

    return store_from_url(uri, endpoint_url=endpoint_url, conn_id=conn_id)


def collect() -> tuple[list[Any], list[Any]]:
    """Overviews of every ingest pipeline and every label export in the pipelines file."""
    from encord_provider.config.loader import load_pipelines
    from encord_provider.ingest.ledger_split import current_ledger_prefixes
    from encord_provider.ingest.stores import staging_key, staging_store
    from encord_provider.reports.overview import PipelineOverview, export_overview, pipeline_overview

    config = load_pipelines()
    pipelines = []
    for pipeline in config.pipelines:
        try:
            staging = staging_store(pipeline)
        except Exception as err:  # a missing connection is shown on the page, not raised
            source = f"{pipeline.source.bucket_url}/{pipeline.source.prefix}"
            pipelines.append(PipelineOverview(pipeline.name, source, error=f"{type(err).__name__}: {err}"))
            continue
        runs_prefix = staging_key(pipeline, "runs", pipeline.name)
        pipelines.append(
            pipeline_overview(pipeline, staging, current_ledger_prefixes(staging, pipeline), runs_prefix)
        )
    exports = [e for e in (export_overview(p, _open_warehouse) for p in config.projects) if e is not None]
    return pipelines, exports


def _access() -> Any:
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return Depends(requires_access_dag("GET"))


def create_app() -> FastAPI:
    app = FastAPI(title="Encord pipelines", dependencies=[_access()])

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        from encord_provider.reports.html import render_dashboard

        pipelines, exports = collect()
        return render_dashboard(pipelines, exports, datetime.now(UTC).isoformat(timespec="seconds"))

    @app.get("/overview.json")
    def overview() -> dict[str, Any]:
        pipelines, exports = collect()
        return {"pipelines": [asdict(p) for p in pipelines], "exports": [asdict(e) for e in exports]}

    return app
