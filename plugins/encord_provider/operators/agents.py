"""Drain AGENT stages of an Encord workflow project with user agents, one bounded pass per task run.

Two kinds of agent are accepted, referenced by import path (`package.module:attr`):
- an encord-agents `Runner` (SequentialRunner) whose `@runner.stage(...)` functions are used unchanged;
  it runs `runner.run_stage(...)` once per stage with ENCORD_SSH_KEY / ENCORD_DOMAIN set from the Airflow
  connection for the duration of the task only (the SDK reads them when the module builds its Runner);
- a plain callable `(task, label_row) -> pathway name | pathway uuid | None` (None leaves the task where it is).

Per-task failures are collected (task uuid, data hash, error) and never stop the other tasks.
"""

from __future__ import annotations

import importlib
import itertools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from encord_provider.errors import PermanentError
from encord_provider.hooks.encord import EncordHook

if TYPE_CHECKING:
    from encord.objects import LabelRowV2
    from encord.project import Project
    from encord.user_client import EncordUserClient
    from encord.workflow.stages.agent import AgentStage, AgentTask

AgentCallable = Callable[["AgentTask", "LabelRowV2"], "str | None"]
MAX_REPORTED_FAILURES = 50
_ENV_KEYS = ("ENCORD_SSH_KEY", "ENCORD_DOMAIN", "ENCORD_SSH_KEY_FILE")


class AgentLoadError(PermanentError, ImportError):
    """The agent path does not name an importable Runner or callable."""


@dataclass
class TaskFailure:
    task_uuid: str
    data_hash: str
    error: str


@dataclass
class StageReport:
    stage: str
    listed: int = 0
    attempted: int = 0
    moved: int = 0
    held: int = 0
    failures: list[TaskFailure] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        body = asdict(self)
        body["failed"] = len(self.failures)
        body["failures"] = [asdict(f) for f in self.failures[:MAX_REPORTED_FAILURES]]
        return body


def _error_text(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:500]


def load_agent(path: str, search_paths: Sequence[str | Path] = ()) -> Any:
    """Import `pkg.mod:attr` (or `pkg.mod.attr`), trying `search_paths` (e.g. include/) when needed."""
    module_name, _, attr = path.partition(":")
    if not attr:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise AgentLoadError(f"agent {path!r} must look like 'package.module:attribute'")
    for extra in search_paths:
        if str(extra) not in sys.path and Path(extra).is_dir():
            sys.path.append(str(extra))
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise AgentLoadError(f"agent {path!r}: cannot import {module_name!r} ({err})") from err
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as err:
        raise AgentLoadError(f"agent {path!r}: module {module_name!r} has no attribute {attr!r}") from err
    return obj


@contextmanager
def encord_agent_env(domain: str, private_key: str) -> Iterator[None]:
    """Expose the connection to encord-agents (which reads the environment) only while the block runs."""
    saved = {key: os.environ.get(key) for key in _ENV_KEYS}
    os.environ["ENCORD_SSH_KEY"] = private_key
    os.environ["ENCORD_DOMAIN"] = domain
    os.environ.pop("ENCORD_SSH_KEY_FILE", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def is_runner(obj: Any) -> bool:
    from encord_agents.tasks.runner.sequential_runner import SequentialRunner

    return isinstance(obj, SequentialRunner)


def get_agent_stage(project: Project, stage: str) -> AgentStage:
    from uuid import UUID

    from encord.workflow.stages.agent import AgentStage

    try:
        return project.workflow.get_stage(uuid=UUID(stage), type_=AgentStage)
    except ValueError:
        return project.workflow.get_stage(name=stage, type_=AgentStage)


# ---- plain callables ----------------------------------------------------------------------------


def _label_rows_for(
    project: Project, tasks: Sequence[AgentTask], bundle_size: int, signed: bool
) -> dict[str, Any]:
    data_hashes = [str(t.data_hash) for t in tasks]
    rows = {str(r.data_hash): r for r in project.list_label_rows_v2(data_hashes=data_hashes)}
    with project.create_bundle(bundle_size=bundle_size) as bundle:
        for row in rows.values():
            row.initialise_labels(bundle=bundle, include_signed_url=signed)
    return rows


def _pathway_arguments(stage: AgentStage, choice: str) -> dict[str, str]:
    for pathway in stage.pathways:
        if choice == pathway.name:
            return {"pathway_name": choice}
        if choice == str(pathway.uuid):
            return {"pathway_uuid": choice}
    known = [p.name for p in stage.pathways]
    raise ValueError(f"pathway {choice!r} does not leave stage {stage.title!r}; pathways are {known}")


def _proceed_all(
    project: Project, moves: list[tuple[AgentTask, dict[str, str]]], report: StageReport
) -> None:
    """One bundled request per stage batch; if the server rejects it, replay task by task."""
    if not moves:
        return
    try:
        with project.create_bundle(bundle_size=len(moves)) as bundle:
            for task, pathway in moves:
                task.proceed(**pathway, bundle=bundle)  # type: ignore[arg-type]
        report.moved += len(moves)
        return
    except Exception:  # the bundle is all-or-nothing on the server: find the culprits one by one
        pass
    for task, pathway in moves:
        try:
            task.proceed(**pathway)  # type: ignore[arg-type]
            report.moved += 1
        except Exception as err:
            report.failures.append(TaskFailure(str(task.uuid), str(task.data_hash), _error_text(err)))


def drain_with_callable(
    project: Project,
    stage_name: str,
    agent: AgentCallable,
    *,
    max_tasks: int,
    bundle_size: int,
    include_signed_url: bool = False,
) -> StageReport:
    stage = get_agent_stage(project, stage_name)
    report = StageReport(stage=stage_name)
    # Take the whole bounded slice first: moving tasks while paging would skip some.
    tasks = list(itertools.islice(stage.get_tasks(), max_tasks))
    report.listed = len(tasks)
    for start in range(0, len(tasks), bundle_size):
        batch = tasks[start : start + bundle_size]
        rows = _label_rows_for(project, batch, bundle_size, include_signed_url)
        moves: list[tuple[AgentTask, dict[str, str]]] = []
        for task in batch:
            report.attempted += 1
            try:
                choice = agent(task, rows[str(task.data_hash)])
                if choice is None:
                    report.held += 1
                    continue
                moves.append((task, _pathway_arguments(stage, str(choice))))
            except Exception as err:
                report.failures.append(TaskFailure(str(task.uuid), str(task.data_hash), _error_text(err)))
        _proceed_all(project, moves, report)
    return report


# ---- encord-agents Runner -----------------------------------------------------------------------


class _FailureRecorder:
    """Wraps a Runner agent's function to remember the last error per task (the Runner only logs them)."""

    def __init__(self, task_by_data_hash: dict[str, str]) -> None:
        self.task_by_data_hash = task_by_data_hash
        self.errors: dict[str, TaskFailure] = {}

    def _task_of(self, values: dict[str, Any]) -> tuple[str, str] | None:
        for value in values.values():
            data_hash = getattr(value, "data_hash", None)
            if data_hash is None:
                continue
            task_uuid = getattr(value, "uuid", None) if hasattr(value, "proceed") else None
            task_uuid = task_uuid or self.task_by_data_hash.get(str(data_hash))
            if task_uuid:
                return str(task_uuid), str(data_hash)
        return None

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(**values: Any) -> Any:
            key = self._task_of(values)
            try:
                result = function(**values)
            except Exception as err:
                if key:
                    self.errors[key[0]] = TaskFailure(key[0], key[1], _error_text(err))
                raise
            if key:
                self.errors.pop(key[0], None)
            return result

        return recorded


def _bind_runner(runner: Any, client: EncordUserClient, project_hash: str) -> None:
    """Point a Runner built at import time at this connection's client and project."""
    runner.client = client
    if runner.project_hash is not None and str(runner.project_hash) != project_hash:
        raise AgentLoadError(f"the Runner is bound to project {runner.project_hash}, not {project_hash}")
    if runner.project_hash is not None:
        runner.project = client.get_project(project_hash)


def drain_with_runner(
    runner: Any,
    project: Project,
    stage_name: str,
    *,
    max_tasks: int,
    bundle_size: int,
    num_retries: int = 1,
) -> StageReport:
    stage = get_agent_stage(project, stage_name)
    before = {str(t.uuid): str(t.data_hash) for t in stage.get_tasks()}
    report = StageReport(stage=stage_name, listed=len(before), attempted=min(len(before), max_tasks))
    recorder = _FailureRecorder({data_hash: uuid for uuid, data_hash in before.items()})
    originals = [(agent, agent.callable) for agent in runner.agents]
    for agent, function in originals:
        agent.callable = recorder.wrap(function)
    try:
        runner.run_stage(
            stage_name,
            project_hash=None if runner.project_hash else project.project_hash,
            num_retries=num_retries,
            task_batch_size=bundle_size,
            max_tasks=max_tasks,
        )
    finally:
        for agent, function in originals:
            agent.callable = function
    remaining = {str(t.uuid) for t in stage.get_tasks()}
    report.moved = len(set(before) - remaining)
    report.failures = [f for uuid, f in recorder.errors.items() if uuid in remaining]
    report.held = report.attempted - report.moved - len(report.failures)
    return report


def runner_stages(runner: Any) -> list[str]:
    return [str(agent.identity) for agent in runner.agents]


# ---- operator -----------------------------------------------------------------------------------


class EncordAgentStageOperator(BaseOperator):
    """Run one bounded pass of an agent over AGENT stage(s) of a project; return a small summary.

    :param project_hash: the Encord workflow project.
    :param agent: import path of an encord-agents Runner or of a `(task, label_row) -> pathway` callable.
    :param stages: stage titles or uuids; empty = every stage the Runner registered (required for callables).
    :param max_tasks_per_run: upper bound of tasks handled per stage in this task run.
    :param bundle_size: tasks per batch (label rows read and pathway moves bundled together).
    :param search_paths: directories tried when importing the agent (e.g. the project's include/ folder).
    :param fail_on_task_errors: fail the Airflow task when any Encord task failed (after reporting all).
    """

    template_fields: Sequence[str] = ("project_hash", "agent", "stages")
    ui_color = "#c9d6ff"

    def __init__(
        self,
        *,
        project_hash: str,
        agent: str,
        stages: Sequence[str] = (),
        encord_conn_id: str = EncordHook.default_conn_name,
        max_tasks_per_run: int = 1000,
        bundle_size: int = 100,
        num_retries: int = 1,
        include_signed_url: bool = False,
        search_paths: Sequence[str] = (),
        fail_on_task_errors: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project_hash = project_hash
        self.agent = agent
        self.stages = list(stages)
        self.encord_conn_id = encord_conn_id
        self.max_tasks_per_run = max_tasks_per_run
        self.bundle_size = bundle_size
        self.num_retries = num_retries
        self.include_signed_url = include_signed_url
        self.search_paths = list(search_paths)
        self.fail_on_task_errors = fail_on_task_errors

    def execute(self, context: Any) -> dict[str, Any]:
        hook = EncordHook(self.encord_conn_id)
        with encord_agent_env(hook.domain, hook.private_key()):
            agent = load_agent(self.agent, self.search_paths)
            project = hook.client.get_project(self.project_hash)
            reports = self._drain(agent, hook.client, project)
        summary = {
            "project_hash": self.project_hash,
            "agent": self.agent,
            "mode": "runner" if is_runner(agent) else "callable",
            "stages": {r.stage: r.summary() for r in reports},
            "moved": sum(r.moved for r in reports),
            "failed": sum(len(r.failures) for r in reports),
        }
        for report in reports:
            self.log.info(
                "stage %s: listed %d, attempted %d, moved %d, held %d, failed %d",
                report.stage, report.listed, report.attempted, report.moved, report.held, len(report.failures),
            )  # fmt: skip
            for failure in report.failures[:MAX_REPORTED_FAILURES]:
                self.log.warning(
                    "task %s (data %s) failed: %s", failure.task_uuid, failure.data_hash, failure.error
                )
        if self.fail_on_task_errors and summary["failed"]:
            raise RuntimeError(f"{summary['failed']} Encord task(s) failed; see the summary above")
        return summary

    def _drain(self, agent: Any, client: EncordUserClient, project: Project) -> list[StageReport]:
        if is_runner(agent):
            _bind_runner(agent, client, self.project_hash)
            stages = self.stages or runner_stages(agent)
            return [
                drain_with_runner(
                    agent,
                    project,
                    stage,
                    max_tasks=self.max_tasks_per_run,
                    bundle_size=self.bundle_size,
                    num_retries=self.num_retries,
                )  # fmt: skip
                for stage in stages
            ]
        if not callable(agent):
            raise AgentLoadError(f"agent {self.agent!r} is neither an encord-agents Runner nor a callable")
        if not self.stages:
            raise ValueError(f"agent {self.agent!r} is a plain callable: name the stage(s) it drains")
        return [
            drain_with_callable(
                project,
                stage,
                agent,
                max_tasks=self.max_tasks_per_run,
                bundle_size=self.bundle_size,
                include_signed_url=self.include_signed_url,
            )  # fmt: skip
            for stage in self.stages
        ]
