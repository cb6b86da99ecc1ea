"""Calls the emulator does not implement say so through the real SDK, instead of a misleading 404/405."""

from __future__ import annotations

import uuid

import pytest
import requests
from encord.exceptions import GenericServerError, ResourceNotFoundError, UnknownException
from encord.user_client import EncordUserClient
from encord_emulator.testing import EmulatorProcess


def test_unsupported_v2_call_names_itself(encord_client: EncordUserClient) -> None:
    with pytest.raises(
        UnknownException, match=r"not emulated: GET /v2/public/organisation/organisation-tags"
    ):
        encord_client.list_organisation_tags()


def test_unsupported_legacy_call_names_itself(encord_client: EncordUserClient) -> None:
    project_hash = encord_client.create_project(f"ne-{uuid.uuid4().hex[:6]}", [])
    project = encord_client.get_project(project_hash)
    with pytest.raises(GenericServerError, match=r"not emulated: RPC project:project:GET"):
        project.get_project()


def test_unsupported_method_on_a_served_path_is_not_emulated(encord_emulator: EmulatorProcess) -> None:
    client = encord_emulator.client()
    request = requests.Request("DELETE", encord_emulator.url + "/v2/public/cloud-integrations").prepare()
    answer = requests.Session().send(client._config.define_headers_v2(request), timeout=10)
    assert answer.status_code == 501 and "DELETE /v2/public/cloud-integrations" in answer.json()["message"]


def test_missing_resources_are_still_not_found(encord_client: EncordUserClient) -> None:
    with pytest.raises(ResourceNotFoundError):
        encord_client.get_ontology(str(uuid.uuid4()))
