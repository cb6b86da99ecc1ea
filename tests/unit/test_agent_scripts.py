"""Agent scripts (`module:__main__`): the key file and domain they get, and how their errors are classified."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from encord_provider.agents.scripts import (
    AgentScriptCodeError,
    AgentScriptError,
    key_file_env,
    run_script,
    script_module,
)
from encord_provider.config.projects import AgentStageConfig
from encord_provider.errors import PermanentError, TransientError
from pydantic import ValidationError

from tests.unit.agent_scripts import SEEN

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----\n"


def test_script_module_is_only_the_main_attribute() -> None:
    assert script_module("agents.guide.general_example:__main__") == "agents.guide.general_example"
    assert script_module("agents.pre_classify:runner") is None
    assert script_module("agents.pre_label.pre_label") is None


def test_script_gets_a_private_key_file_and_domain_which_vanish_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENCORD_SSH_KEY", "worker key")
    monkeypatch.delenv("ENCORD_SSH_KEY_FILE", raising=False)
    monkeypatch.setenv("ENCORD_DOMAIN", "https://api.encord.com")
    SEEN.clear()
    with key_file_env("http://127.0.0.1:9", KEY):
        run_script("tests.unit.agent_scripts.record_env")
        run_script("tests.unit.agent_scripts.record_env")  # every run executes the script afresh
    assert len(SEEN) == 2
    seen = SEEN[0]
    assert seen["key"] == KEY and seen["mode"] == 0o600 and seen["raw_key"] is None
    assert seen["domain"] == "http://127.0.0.1:9"
    assert not Path(str(seen["path"])).exists()
    assert os.environ["ENCORD_SSH_KEY"] == "worker key" and "ENCORD_SSH_KEY_FILE" not in os.environ
    assert os.environ["ENCORD_DOMAIN"] == "https://api.encord.com"


def test_a_broken_script_fails_permanently_naming_it() -> None:
    with pytest.raises(AgentScriptCodeError, match=r"broken_name'.*NameError.*radio_ontology_classification"):
        run_script("tests.unit.agent_scripts.broken_name")
    assert issubclass(AgentScriptCodeError, PermanentError)


def test_a_script_whose_backend_is_down_may_retry() -> None:
    with pytest.raises(AgentScriptError, match=r"server_down' failed: ConnectionError") as caught:
        run_script("tests.unit.agent_scripts.server_down")
    assert isinstance(caught.value, TransientError)


def test_a_missing_script_module_is_a_code_error() -> None:
    with pytest.raises(AgentScriptCodeError, match="ImportError|ModuleNotFoundError"):
        run_script("agents.guide.no_such_script")


def test_a_script_agent_needs_its_stages() -> None:
    assert AgentStageConfig.model_validate({"agent": "m:__main__", "stage": "Agent 1"}).stages == ["Agent 1"]
    with pytest.raises(ValidationError, match="runs a script: name the stage"):
        AgentStageConfig.model_validate({"agent": "agents.guide.general_example:__main__"})


def test_a_failing_script_reports_what_it_moved_before_it_stopped() -> None:
    from types import SimpleNamespace as NS

    from encord_provider.operators.agents import drain_with_script

    from tests.unit.agent_scripts import WAITING

    WAITING[:] = [NS(uuid=f"t{index}", data_hash=f"d{index}") for index in range(3)]
    stage = NS(get_tasks=lambda: list(WAITING))
    project = NS(workflow=NS(get_stage=lambda **_: stage))
    with pytest.raises(
        AgentScriptError, match=r"ConnectionError: connection reset \(Agent 1: moved 1 of 3\)"
    ):
        drain_with_script("tests.unit.agent_scripts.move_one_then_fail", project, ["Agent 1"])  # type: ignore[arg-type]
