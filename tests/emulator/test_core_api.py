"""Auth, error mapping, fault injection, admin API and persistence, through the real SDK."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from encord.exceptions import (
    AuthenticationError,
    InvalidArgumentsError,
    RateLimitExceededError,
    ResourceNotFoundError,
    SshKeyNotFound,
    UnknownException,
)
from encord.http.constants import RequestsSettings
from encord.user_client import EncordUserClient
from encord_emulator.testing import EmulatorProcess, generate_keypair


@pytest.fixture
def faults(encord_emulator: EmulatorProcess) -> Iterator[EmulatorProcess]:
    yield encord_emulator
    encord_emulator.admin_post("/admin/faults", {"rules": []})


def stranger_client(url: str) -> EncordUserClient:
    private_key, _ = generate_keypair()
    return EncordUserClient.create_with_ssh_private_key(private_key, domain=url)


def test_unregistered_key_is_rejected_on_both_apis(encord_emulator: EmulatorProcess) -> None:
    client = stranger_client(encord_emulator.url)
    with pytest.raises(AuthenticationError):
        client.get_cloud_integrations()
    with pytest.raises(SshKeyNotFound):
        client.get_dataset(str(uuid.uuid4()))


def test_tampered_signatures_are_rejected(encord_emulator: EmulatorProcess) -> None:
    client = encord_emulator.client()
    assert client.get_cloud_integrations() is not None  # the genuine signature passes
    request = requests.Request("GET", encord_emulator.url + "/v2/public/cloud-integrations").prepare()
    signed = client._config.define_headers_v2(request)
    signed.headers["Signature"] = "encord-sig=:" + base64.b64encode(b"\x00" * 64).decode() + ":"
    answer = requests.Session().send(signed, timeout=10)
    assert answer.status_code == 401
    body = json.dumps(
        {"query_type": "dataset", "query_method": "GET", "values": {"uid": None, "payload": None}}
    )
    headers = client._config.define_headers(str(uuid.uuid4()), "dataset", body)
    answer = requests.post(encord_emulator.url + "/public", data=body + " ", headers=headers, timeout=10)
    assert answer.json()["response"] == ["AUTHENTICATION_ERROR"]
    missing = requests.post(encord_emulator.url + "/public", data=body, timeout=10)
    assert missing.json()["response"] == ["AUTHENTICATION_ERROR"]


def test_not_found_on_both_apis(encord_client: EncordUserClient) -> None:
    with pytest.raises(ResourceNotFoundError):
        encord_client.get_storage_folder(uuid.uuid4())
    with pytest.raises(ResourceNotFoundError):
        encord_client.get_dataset(str(uuid.uuid4()))


def test_bad_page_size_is_invalid_arguments(encord_emulator: EmulatorProcess) -> None:
    client = encord_emulator.client()
    request = requests.Request(
        "GET", encord_emulator.url + "/v2/public/storage/folders?pageSize=5000"
    ).prepare()
    answer = requests.Session().send(client._config.define_headers_v2(request), timeout=10)
    assert answer.status_code == 400
    assert "pageSize" in answer.json()["message"]
    with pytest.raises(InvalidArgumentsError):
        client.create_storage_folder("")


def test_injected_rate_limits_are_retried_by_the_sdk(faults: EmulatorProcess) -> None:
    faults.admin_post("/admin/faults", {"seed": 7, "rules": [
        {"pattern": r"^GET /v2/public/cloud-integrations$", "error_rate": 1.0, "status": 429, "max_faults": 2},
    ]})  # fmt: skip
    client = faults.client(requests_settings=RequestsSettings(backoff_factor=0.01))
    assert isinstance(client.get_cloud_integrations(), list)
    (rule,) = faults.admin_get("/admin/faults")["rules"]
    assert (rule["matched"], rule["injected"]) == (3, 2)


def test_persistent_faults_surface_as_sdk_errors(faults: EmulatorProcess) -> None:
    faults.admin_post("/admin/faults", {"rules": [
        {"pattern": "cloud-integrations", "error_rate": 1.0, "status": 429, "retry_after": 0},
        {"pattern": r"^RPC dataset:dataset:GET$", "error_rate": 1.0, "status": 503},
    ]})  # fmt: skip
    client = faults.client(requests_settings=RequestsSettings(max_retries=0, backoff_factor=0.01))
    with pytest.raises(RateLimitExceededError):
        client.get_cloud_integrations()
    with pytest.raises(UnknownException):
        client.get_dataset(str(uuid.uuid4()))


def test_fault_decisions_are_deterministic_for_a_seed(faults: EmulatorProcess) -> None:
    def pattern_of_failures() -> list[bool]:
        faults.admin_post("/admin/faults", {"seed": 42, "rules": [{"pattern": "healthz-never"}, {
            "pattern": "cloud-integrations", "error_rate": 0.5, "status": 503}]})  # fmt: skip
        client = faults.client(requests_settings=RequestsSettings(max_retries=0))
        outcome = []
        for _ in range(12):
            try:
                client.get_cloud_integrations()
                outcome.append(False)
            except Exception:
                outcome.append(True)
        return outcome

    first = pattern_of_failures()
    assert first == pattern_of_failures()
    assert any(first) and not all(first)


def test_latency_is_added(faults: EmulatorProcess) -> None:
    faults.admin_post("/admin/faults", {"rules": [{"pattern": "cloud-integrations", "latency_ms": 300}]})
    client = faults.client()
    started = time.monotonic()
    client.get_cloud_integrations()
    assert time.monotonic() - started >= 0.3


def test_bad_admin_input_names_the_problem(encord_emulator: EmulatorProcess) -> None:
    with pytest.raises(RuntimeError, match="unknown seed sections"):
        encord_emulator.admin_post("/admin/seed", {"buckets": []})
    with pytest.raises(RuntimeError, match="provider must be one of"):
        encord_emulator.admin_post("/admin/seed", {"integrations": [{"title": "x", "provider": "dropbox"}]})
    with pytest.raises(RuntimeError, match="error_rate must be within"):
        encord_emulator.admin_post("/admin/faults", {"rules": [{"pattern": "x", "error_rate": 2}]})


def test_state_survives_restart(tmp_path_factory: pytest.TempPathFactory) -> None:
    with EmulatorProcess(data_dir=tmp_path_factory.mktemp("restart")) as emulator:
        client = emulator.client()
        folder = client.create_storage_folder(f"persist-{uuid.uuid4()}", "kept")
        emulator.restart()
        again = emulator.client().get_storage_folder(folder.uuid)
        assert (again.name, again.description) == (folder.name, "kept")
        assert emulator.admin_get("/admin/state")["documents"]["folder"] == 1


def test_cli_rejects_a_bad_seed_file(tmp_path: pytest.TempPathFactory) -> None:
    from encord_emulator.cli import main

    seed = tmp_path / "seed.yaml"  # type: ignore[operator]
    seed.write_text("users:\n  - email: a@b.c\n    public_key: not-a-key\n")
    assert main(["serve", "--data-dir", str(tmp_path), "--seed", str(seed)]) == 2
