"""Airflow UI plugin: a page showing what the Encord pipelines did (registered via the `airflow.plugins`
entry point in pyproject.toml, so nothing under plugins/ is loaded as a loose plugin module)."""
