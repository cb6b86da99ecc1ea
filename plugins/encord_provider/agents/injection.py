"""encord-agents' dependency injection for agent functions, through its public pieces only.

A function's parameters are injected the way encord-agents' Runner injects them: by type (`AgentTask`,
`LabelRowV2`, `StorageItem`, `AgentStage`, `Project`) or by `Annotated[T, Depends(fn)]`
(`encord_agents.core.dependencies.Depends`, e.g. `dep_asset`). `injectable` turns a function into one
the solver accepts, without touching it:

- annotations written as strings (`from __future__ import annotations`) are resolved in the function's
  own module;
- a parameter without a usable annotation is typed by its name (`task`, `label_row`, `storage_item`,
  `stage`, `project`), and a two-parameter callable with neither is the classic `(task, label_row)`.

`solve` fills the parameters for one task (generator dependencies are closed with the `ExitStack`).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from encord.objects.ontology_labels_impl import LabelRowV2
from encord.project import Project
from encord.storage import StorageItem
from encord.workflow.stages.agent import AgentStage, AgentTask
from encord_agents.core.dependencies import Depends
from encord_agents.core.dependencies.models import Context, Dependant
from encord_agents.core.dependencies.utils import get_dependant, solve_dependencies

from encord_provider.errors import PermanentError

INJECTED_TYPES: tuple[type, ...] = (AgentTask, LabelRowV2, StorageItem, AgentStage, Project)
BY_NAME: dict[str, type] = {"task": AgentTask, "label_row": LabelRowV2, "storage_item": StorageItem,
                            "stage": AgentStage, "project": Project}  # fmt: skip
CLASSIC = (AgentTask, LabelRowV2)  # a plain `(task, label_row)` callable


class AgentSignatureError(PermanentError, TypeError):
    """An agent function has a parameter encord-agents cannot inject (the message names it)."""


def _injectable_annotation(annotation: Any, default: Any) -> bool:
    if isinstance(default, Depends) or annotation in INJECTED_TYPES:
        return True
    return typing.get_origin(annotation) is typing.Annotated and any(
        isinstance(arg, Depends) for arg in typing.get_args(annotation)[1:]
    )


def typed_signature(function: Callable[..., Any]) -> inspect.Signature:
    """`function`'s signature with every parameter typed for injection (see the module docstring)."""
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # unresolvable string annotations: fall back to names below
        hints = {}
    params = list(inspect.signature(function).parameters.values())
    untyped = [p for p in params if not _injectable_annotation(hints.get(p.name, p.annotation), p.default)]
    classic = len(params) == 2 and all(p.name not in BY_NAME for p in untyped) and len(untyped) == 2
    typed = []
    for index, param in enumerate(params):
        annotation = hints.get(param.name, param.annotation)
        if param in untyped:
            if classic:
                annotation = CLASSIC[index]
            elif param.name in BY_NAME:
                annotation = BY_NAME[param.name]
            else:
                raise AgentSignatureError(
                    f"agent {getattr(function, '__qualname__', function)!r}: parameter {param.name!r} is "
                    f"neither one of {sorted(BY_NAME)} nor typed with {[t.__name__ for t in INJECTED_TYPES]} "
                    "or Annotated[..., Depends(...)]"
                )
        typed.append(param.replace(annotation=annotation, kind=inspect.Parameter.KEYWORD_ONLY))
    return inspect.Signature(typed)


def injectable(function: Callable[..., Any], *extra: inspect.Parameter) -> Callable[..., Any]:
    """A keyword-only twin of `function` whose signature the solver reads (plus `extra` parameters that
    the caller pops before calling `function`); calling it calls `function`."""

    def call(**values: Any) -> Any:
        return function(**values)

    signature = typed_signature(function)
    call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *extra]
    )
    call.__name__ = getattr(function, "__name__", "agent")
    call.__qualname__ = getattr(function, "__qualname__", call.__name__)
    return call


def dependant_of(function: Callable[..., Any]) -> Dependant:
    return get_dependant(func=injectable(function))


def solve(dependant: Dependant, context: Context, stack: ExitStack) -> dict[str, Any]:
    """The keyword arguments of one call of the agent for the task in `context`."""
    return solve_dependencies(context=context, dependant=dependant, stack=stack).values


def task_parameter(name: str) -> inspect.Parameter:
    """An extra parameter through which the solver hands a wrapper the task it is called for."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=AgentTask)


__all__ = ["Context", "Dependant", "Depends", "dependant_of", "injectable", "solve", "task_parameter"]
