"""Extra links to Encord's web app (Airflow 3 `BaseOperatorLink`s): the project of the agent and export
tasks, the folder and first dataset of a register task.

Airflow calls `get_link` on the worker when the task finishes, with the rendered operator, and stores the
address; the domain comes from the task's Encord connection (see `encord_api.pages`).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink

from encord_provider.encord_api.pages import page_url


def _conn_id(operator: Any) -> str:
    from encord_provider.hooks.encord import EncordHook

    pipeline = getattr(operator, "pipeline", None) or {}
    return str(
        getattr(operator, "encord_conn_id", None)
        or pipeline.get("encord_conn_id")
        or EncordHook.default_conn_name
    )


class EncordLink(BaseOperatorLink):
    """A link to one Encord page; subclasses say which page and where the operator keeps its id."""

    name = "Encord"
    page = "project"

    def target(self, operator: Any) -> str | None:
        raise NotImplementedError

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from encord_provider.hooks.encord import EncordHook

        target = self.target(operator)
        if not target:
            return ""
        return page_url(EncordHook(_conn_id(operator)).domain, self.page, target)


def _targets(operator: Any) -> dict[str, Any]:
    targets = getattr(operator, "targets", None)
    return targets if isinstance(targets, dict) else {}


class EncordProjectLink(EncordLink):
    name = "Encord project"
    page = "project"

    def target(self, operator: Any) -> str | None:
        return getattr(operator, "project_hash", None)


class EncordFolderLink(EncordLink):
    name = "Encord folder"
    page = "folder"

    def target(self, operator: Any) -> str | None:
        return _targets(operator).get("folder_uuid")


class EncordDatasetLink(EncordLink):
    name = "Encord dataset"
    page = "dataset"

    def target(self, operator: Any) -> str | None:
        hashes = _targets(operator).get("dataset_hashes") or []
        return str(hashes[0]) if hashes else None


LINK_CLASSES = (EncordProjectLink, EncordFolderLink, EncordDatasetLink)
