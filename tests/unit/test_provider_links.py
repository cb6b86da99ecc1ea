"""Extra links to Encord's app pages, the `encord://` asset URI handler, and what ProvidersManager loads."""

from __future__ import annotations

import json
from types import SimpleNamespace as NS

import pytest
from encord_provider.encord_api.pages import app_base, page_url
from encord_provider.operators.links import EncordDatasetLink, EncordFolderLink, EncordProjectLink


def test_app_pages_follow_the_api_domain() -> None:
    assert app_base("https://api.encord.com") == "https://app.encord.com"
    assert app_base("https://api.us.encord.com/") == "https://app.us.encord.com"
    assert app_base("http://127.0.0.1:8123") == "http://127.0.0.1:8123"
    assert (
        page_url("https://api.encord.com", "dataset", "d 1") == "https://app.encord.com/datasets/view/d%201"
    )


def test_operator_links_name_the_project_folder_and_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_ENC_LINKS",
        json.dumps({"conn_type": "encord", "extra": {"domain": "https://api.us.encord.com"}}),
    )
    agent = NS(encord_conn_id="enc_links", project_hash="p-1")
    assert (
        EncordProjectLink().get_link(agent, ti_key=None)
        == "https://app.us.encord.com/projects/view/p-1/summary"
    )
    register = NS(
        pipeline={"encord_conn_id": "enc_links"},
        targets={"folder_uuid": "f-1", "dataset_hashes": ["d-1", "d-2"]},
    )
    assert EncordFolderLink().get_link(register, ti_key=None) == "https://app.us.encord.com/index/folders/f-1"
    assert (
        EncordDatasetLink().get_link(register, ti_key=None) == "https://app.us.encord.com/datasets/view/d-1"
    )
    assert EncordDatasetLink().get_link(NS(pipeline={}, targets={}), ti_key=None) == ""


def test_operators_carry_their_links() -> None:
    from encord_provider.operators.agents import EncordAgentStageOperator
    from encord_provider.operators.export import EncordExportLabelsOperator
    from encord_provider.operators.ingest import EncordRegisterChunkOperator

    assert [type(link) for link in EncordAgentStageOperator.operator_extra_links] == [EncordProjectLink]
    assert [type(link) for link in EncordExportLabelsOperator.operator_extra_links] == [EncordProjectLink]
    assert [type(link) for link in EncordRegisterChunkOperator.operator_extra_links] == [
        EncordFolderLink, EncordDatasetLink]  # fmt: skip


def test_providers_manager_loads_hooks_links_and_the_encord_asset_scheme() -> None:
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk import Asset

    manager = ProvidersManager()
    assert "airflow-provider-encord" in manager.providers
    assert manager.hooks["encord"].hook_class_name == "encord_provider.hooks.encord.EncordHook"
    assert {f"encord_provider.operators.links.{c}" for c in ("EncordProjectLink", "EncordFolderLink",
            "EncordDatasetLink")} <= set(manager.extra_links_class_names)  # fmt: skip
    assert manager.asset_uri_handlers["encord"].__name__ == "normalize_encord_uri"
    assert Asset("encord://demo/ingested/").uri == "encord://demo/ingested"
    with pytest.raises(ValueError, match="add what the asset is"):
        Asset("encord://demo")


def test_provider_info_modules_import() -> None:
    import importlib

    from encord_provider.get_provider_info import get_provider_info

    info = get_provider_info()
    for section in ("hooks", "operators", "triggers"):
        for entry in info[section]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
