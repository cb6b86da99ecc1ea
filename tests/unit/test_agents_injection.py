"""Plain agent callables get encord-agents' dependency injection (its own solver), typed or by name."""

from __future__ import annotations

from contextlib import ExitStack
from types import SimpleNamespace as NS
from typing import Annotated, Any

import pytest
from encord.objects.ontology_labels_impl import LabelRowV2
from encord.storage import StorageItem
from encord.workflow.stages.agent import AgentStage, AgentTask
from encord_agents.core.dependencies import Depends
from encord_provider.agents.injection import (
    AgentSignatureError,
    Context,
    dependant_of,
    solve,
    typed_signature,
)


def _context() -> Context:
    return Context(project=NS(name="project"), label_row=NS(name="row"), task=NS(name="task"),  # type: ignore[arg-type]
                   agent_stage=NS(name="stage"), storage_item=NS(name="item"))  # type: ignore[arg-type]  # fmt: skip


def _call(agent: Any) -> Any:
    with ExitStack() as stack:
        return agent(**solve(dependant_of(agent), _context(), stack))


def test_the_classic_two_argument_callable_gets_task_and_label_row() -> None:
    def classic(t: Any, r: Any) -> str:
        return f"{t.name}+{r.name}"

    assert _call(classic) == "task+row"
    assert [p.annotation for p in typed_signature(classic).parameters.values()] == [AgentTask, LabelRowV2]


OPENED: list[str] = []


def _name_length(storage_item: StorageItem) -> Any:
    OPENED.append("open")
    yield len(storage_item.name)  # type: ignore[attr-defined]
    OPENED.append("closed")


def _typed_agent(
    stage: AgentStage, item: StorageItem, n: Annotated[int, Depends(_name_length)], task: Any
) -> str:
    """String annotations (this module uses `from __future__ import annotations`) resolve in its module."""
    return f"{stage.name}:{item.name}:{n}:{task.name}"  # type: ignore[attr-defined]


def test_typed_and_named_parameters_and_depends_are_injected() -> None:
    dependant = dependant_of(_typed_agent)
    assert dependant.needs_storage_item and not dependant.needs_label_row
    assert _call(_typed_agent) == "stage:item:4:task"
    assert OPENED == ["open", "closed"]  # generator dependencies are closed after the call


def test_a_parameter_that_cannot_be_injected_is_named() -> None:
    def agent(task: AgentTask, threshold, other) -> None:  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(AgentSignatureError, match="'threshold'"):
        dependant_of(agent)
