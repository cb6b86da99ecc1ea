"""The AirflowPlugin: the dashboard's FastAPI app plus a nav entry that shows it inside the Airflow UI."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from encord_provider.ui.app import URL_PREFIX, create_app


class EncordPipelinesPlugin(AirflowPlugin):
    name = "encord_pipelines"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Encord pipelines"}]
    external_views = [
        {
            "name": "Encord pipelines",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "encord-pipelines",
        }
    ]
