"""Drain AGENT stages of an Encord workflow project with user agents, one bounded pass per task run.

Three kinds of agent are accepted, referenced by import path (`package.module:attr`):
- an encord-agents `Runner` (SequentialRunner) whose `@runner.stage(...)` functions are used unchanged.
  The module is imported with ENCORD_SSH_KEY_FILE / ENCORD_DOMAIN set from the Airflow connection for the
  duration of the task only (encord-agents reads them when the module builds its Runner). The user's
  Runner is never modified: each registered function is registered again, wrapped to record per-task
  failures, on a fresh `Runner(project_hash, user_client=...)` of this connection, which runs the stage
  with its public `run_stage`;
- a plain callable returning a pathway name, a pathway uuid, a `TaskAgentReturnStruct` or None (None
  leaves the task where it is). Its parameters get encord-agents' dependency injection
  (`encord_provider.agents.injection`): `(task, label_row)`, or any typed `AgentTask`, `LabelRowV2`,
  `StorageItem`, `AgentStage`, `Project` and `Annotated[..., Depends(...)]` parameters;
- a script, `package.module:__main__`, run as a program in the same environment
  (`encord_provider.agents.scripts`), e.g. the Encord guide's scripts that build their own client.

Per-task failures of Runners and callables are collected (task uuid, data hash, error) and never stop
the other tasks; a failing script fails the Airflow task, after reporting what it moved.
"""

from __future__ import annotations

import functools
import importlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from encord_provider.agents.scripts import (
    AgentScriptCodeError,
    AgentScriptError,
    extend_sys_path,
    key_file_env,
    run_script,
    script_module,
)
from encord_provider.errors import PermanentError, TransientError
from encord_provider.hooks.encord import EncordHook
from encord_provider.operators.failures import failing_fast
from encord_provider.operators.links import EncordProjectLink

if TYPE_CHECKING:
    from encord.project import Project
    from encord.user_client import EncordUserClient
    from encord.workflow.stages.agent import AgentStage, AgentTask

AgentCallable = Callable[..., Any]  # parameters injected by encord-agents (see the module docstring)
MAX_REPORTED_FAILURES = 50


class AgentLoadError(PermanentError, ImportError):
    """The agent path does not name an importable Runner or callable."""


class AgentConfigError(PermanentError, ValueError):
    """The agent's settings do not fit it (e.g. a plain callable without stages, a Runner without a function
    for the stage)."""


class AgentTasksFailedError(TransientError):
    """Some Encord tasks failed in the agent (`fail_on_task_errors`); a retry tries those still waiting."""


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
    extend_sys_path(search_paths)
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
    """Expose the connection to encord-agents and agent scripts (ENCORD_SSH_KEY_FILE, ENCORD_DOMAIN) only
    while the block runs (`encord_provider.agents.scripts.key_file_env`)."""
    with key_file_env(domain, private_key):
        yield


def is_runner(obj: Any) -> bool:
    from encord_agents.tasks import SequentialRunner

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


def _storage_items_for(client: EncordUserClient | None, rows: dict[str, Any]) -> dict[str, Any]:
    if client is None:
        raise AgentConfigError("the agent asks for a StorageItem: drain_with_callable needs the `client`")
    uuids = {
        str(row.backing_item_uuid): data_hash for data_hash, row in rows.items() if row.backing_item_uuid
    }
    items = client.get_storage_items(list(uuids), sign_url=True)
    return {uuids[str(item.uuid)]: item for item in items}


def _pathway_choice(result: Any) -> str | None:
    """The pathway an agent chose; a `TaskAgentReturnStruct`'s label row is saved first."""
    from encord_agents.tasks.models import TaskAgentReturnStruct

    if isinstance(result, TaskAgentReturnStruct):
        if result.label_row is not None:
            result.label_row.save()
        result = result.pathway
    return None if result is None else str(result)


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
    client: EncordUserClient | None = None,
) -> StageReport:
    """One bounded pass of a plain callable over the stage; `client` is needed only for StorageItems."""
    from encord_provider.agents.injection import Context, dependant_of, solve

    stage = get_agent_stage(project, stage_name)
    dependant = dependant_of(agent)
    report = StageReport(stage=stage_name)
    # Take the whole bounded slice first: moving tasks while paging would skip some.
    tasks = list(itertools.islice(stage.get_tasks(), max_tasks))
    report.listed = len(tasks)
    for start in range(0, len(tasks), bundle_size):
        batch = tasks[start : start + bundle_size]
        needs_rows = dependant.needs_label_row or dependant.needs_storage_item
        rows = _label_rows_for(project, batch, bundle_size, include_signed_url) if needs_rows else {}
        items = _storage_items_for(client, rows) if dependant.needs_storage_item else {}
        moves: list[tuple[AgentTask, dict[str, str]]] = []
        for task in batch:
            report.attempted += 1
            data_hash = str(task.data_hash)
            context = Context(project=project, label_row=rows.get(data_hash), task=task, agent_stage=stage,
                              storage_item=items.get(data_hash))  # fmt: skip
            try:
                with ExitStack() as stack:
                    choice = _pathway_choice(agent(**solve(dependant, context, stack)))
                if choice is None:
                    report.held += 1
                    continue
                moves.append((task, _pathway_arguments(stage, str(choice))))
            except Exception as err:
                report.failures.append(TaskFailure(str(task.uuid), str(task.data_hash), _error_text(err)))
        _proceed_all(project, moves, report)
    return report


# ---- encord-agents Runner -----------------------------------------------------------------------

TASK_PARAMETER = "encord_provider_task"  # how the solver hands the recorder the task it runs for


class _TaskRecorder:
    """Wraps a Runner agent's function to remember the last error per task (the Runner only logs them)
    and to hold every task beyond `max_tasks` (the Runner may read a whole batch past it)."""

    def __init__(self, max_tasks: int) -> None:
        self.max_tasks = max_tasks
        self.seen: dict[str, str] = {}  # task uuid -> data hash, in the order first seen
        self.errors: dict[str, TaskFailure] = {}

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        from encord_provider.agents.injection import injectable, task_parameter

        def recorded(**values: Any) -> Any:
            task = values.pop(TASK_PARAMETER)
            uuid, data_hash = str(task.uuid), str(task.data_hash)
            if uuid not in self.seen and len(self.seen) >= self.max_tasks:
                return None
            self.seen[uuid] = data_hash
            try:
                result = function(**values)
            except Exception as err:
                self.errors[uuid] = TaskFailure(uuid, data_hash, _error_text(err))
                raise
            self.errors.pop(uuid, None)
            return result

        # `recorded` takes `function`'s signature and module (so string annotations resolve), plus the task.
        return injectable(functools.wraps(function)(recorded), task_parameter(TASK_PARAMETER))


def _registration(runner: Any, stage: AgentStage) -> Any:
    """The function the user's Runner registered for `stage` (by title or uuid), read from `runner.agents`."""
    for registered in runner.agents:
        if str(registered.identity) in (stage.title, str(stage.uuid)):
            return registered
    known = [str(registered.identity) for registered in runner.agents]
    raise AgentConfigError(f"the Runner has no function for stage {stage.title!r}; it registered {known}")


def drain_with_runner(
    runner: Any,
    project: Project,
    stage_name: str,
    *,
    max_tasks: int,
    bundle_size: int,
    num_retries: int = 1,
    client: EncordUserClient | None = None,
) -> StageReport:
    """One bounded pass of the user's Runner function for the stage, through a fresh Runner of `client`
    (default: the user's Runner's own client); the user's Runner is left as it is."""
    from encord_agents.tasks import Runner

    if runner.project_hash is not None and str(runner.project_hash) != str(project.project_hash):
        raise AgentConfigError(
            f"the Runner is bound to project {runner.project_hash}, not {project.project_hash}"
        )
    stage = get_agent_stage(project, stage_name)
    registered = _registration(runner, stage)
    before = {str(t.uuid): str(t.data_hash) for t in stage.get_tasks()}
    recorder = _TaskRecorder(max_tasks)
    fresh = Runner(project_hash=str(project.project_hash), user_client=client or runner.client)
    fresh.stage(
        stage.uuid,
        label_row_metadata_include_args=registered.label_row_metadata_include_args,
        label_row_initialise_labels_args=registered.label_row_initialise_labels_args,
        will_set_priority=registered.will_set_priority,
    )(recorder.wrap(registered.callable))
    fresh.run_stage(stage.uuid, num_retries=num_retries, task_batch_size=min(bundle_size, max_tasks),
                    max_tasks=max_tasks)  # fmt: skip
    remaining = {str(t.uuid) for t in stage.get_tasks()}
    report = StageReport(stage=stage_name, listed=len(before), attempted=len(recorder.seen))
    report.moved = len(set(recorder.seen) - remaining)
    report.failures = [f for uuid, f in recorder.errors.items() if uuid in remaining]
    report.held = report.attempted - report.moved - len(report.failures)
    return report


def runner_stages(runner: Any) -> list[str]:
    return [str(agent.identity) for agent in runner.agents]


# ---- agent scripts (module:__main__) -------------------------------------------------------------


def _waiting(project: Project, stage: str) -> set[str]:
    return {str(task.uuid) for task in get_agent_stage(project, stage).get_tasks()}


def drain_with_script(
    module: str, project: Project, stages: Sequence[str], search_paths: Sequence[str | Path] = ()
) -> list[StageReport]:
    """Run the agent script once; per stage, the tasks waiting before and still waiting after tell what
    it moved. A failing script is re-raised with those counts (after the tasks it did move)."""
    before = {stage: _waiting(project, stage) for stage in stages}
    failure: AgentScriptError | AgentScriptCodeError | None = None
    try:
        run_script(module, search_paths)
    except (AgentScriptError, AgentScriptCodeError) as err:
        failure = err
    reports = []
    for stage, waiting in before.items():
        moved = len(waiting - _waiting(project, stage))
        reports.append(StageReport(stage=stage, listed=len(waiting), attempted=len(waiting), moved=moved,
                                   held=len(waiting) - moved))  # fmt: skip
    if failure is not None:
        counts = ", ".join(f"{r.stage}: moved {r.moved} of {r.listed}" for r in reports)
        raise type(failure)(f"{failure} ({counts})") from failure
    return reports


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

    operator_extra_links = (EncordProjectLink(),)
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

    @failing_fast
    def execute(self, context: Any) -> dict[str, Any]:
        hook = EncordHook(self.encord_conn_id)
        script = script_module(self.agent)
        with encord_agent_env(hook.domain, hook.private_key()):
            project = hook.api.project(self.project_hash)
            if script is not None:
                mode, reports = "script", self._run_script(script, project)
            else:
                agent = load_agent(self.agent, self.search_paths)
                mode = "runner" if is_runner(agent) else "callable"
                reports = self._drain(agent, hook.client, project)
        summary = {
            "project_hash": self.project_hash,
            "agent": self.agent,
            "mode": mode,
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
            raise AgentTasksFailedError(f"{summary['failed']} Encord task(s) failed; see the summary above")
        return summary

    def _run_script(self, module: str, project: Project) -> list[StageReport]:
        if not self.stages:
            raise AgentConfigError(f"agent script {self.agent!r}: name the stage(s) it drains")
        reports = drain_with_script(module, project, self.stages, self.search_paths)
        for report in reports:
            if report.listed and not report.moved:  # the usual cause: the script names another project
                self.log.warning(
                    "agent script %s moved none of the %d task(s) in stage %s of project %s: does the script "
                    "open this project and stage?", module, report.listed, report.stage, self.project_hash,
                )  # fmt: skip
        return reports

    def _drain(self, agent: Any, client: EncordUserClient, project: Project) -> list[StageReport]:
        if is_runner(agent):
            stages = self.stages or runner_stages(agent)
            return [
                drain_with_runner(
                    agent,
                    project,
                    stage,
                    max_tasks=self.max_tasks_per_run,
                    bundle_size=self.bundle_size,
                    num_retries=self.num_retries,
                    client=client,
                )  # fmt: skip
                for stage in stages
            ]
        if not callable(agent):
            raise AgentLoadError(f"agent {self.agent!r} is neither an encord-agents Runner nor a callable")
        if not self.stages:
            raise AgentConfigError(f"agent {self.agent!r} is a plain callable: name the stage(s) it drains")
        return [
            drain_with_callable(
                project,
                stage,
                agent,
                max_tasks=self.max_tasks_per_run,
                bundle_size=self.bundle_size,
                include_signed_url=self.include_signed_url,
                client=client,
            )  # fmt: skip
            for stage in self.stages
        ]
