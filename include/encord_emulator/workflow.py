"""Workflow graphs and tasks: ``/v2/public/projects/{p}/workflow/stages/{s}/tasks|actions|move-tasks``.

A project's graph (``project["workflow"]["nodes"]``) holds every node, routers and the start node
included; the SDK only ever sees the stage nodes (``sdk_stages``) because ``Workflow`` asserts on
router stages. Tasks (kind ``task``, id = uuid5(project, data hash)) sit at one stage node; a task
moved onto a router or the start node is forwarded at once, deterministically per data hash.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from encord_emulator.common import keyset_page, now_iso
from encord_emulator.errors import invalid_arguments, not_found
from encord_emulator.registry import RequestContext, app_state, current_context
from encord_emulator.store import Store

TASK_KIND = "task"
PROJECT_KIND = "project"
DEFAULT_TASK_PAGE_SIZE = 100
MAX_ROUTER_HOPS = 50
# Seed spelling -> SDK WorkflowStageType (None = not shown to the SDK).
NODE_TYPES: dict[str, str | None] = {
    "start": None,
    "annotate": "ANNOTATION",
    "review": "REVIEW",
    "agent": "AGENT",
    "router": None,
    "complete": "DONE",
}
_NAMESPACE = uuid.UUID("0b7f3c1e-2a44-4f51-8f0e-5d6c7b8a9e10")

router = APIRouter()
Ctx = Annotated[RequestContext, Depends(current_context)]


# ---------------------------------------------------------------- graph construction


def default_workflow_spec() -> list[dict[str, Any]]:
    """Start -> Annotate -> Review (approve: Complete, reject: Annotate) -> Complete."""
    return [
        {"title": "Start", "type": "start", "to": "Annotate"},
        {"title": "Annotate", "type": "annotate", "to": "Review"},
        {"title": "Review", "type": "review", "approve": "Complete", "reject": "Annotate"},
        {"title": "Complete", "type": "complete"},
    ]


def build_graph(project_hash: str, spec: list[dict[str, Any]]) -> dict[str, Any]:
    """Resolve a seed workflow (stage titles as references) into nodes with uuids.

    Stage and pathway uuids are uuid5 of the project and title, so re-seeding keeps them.
    """
    if not isinstance(spec, list) or not spec:
        raise ValueError("workflow must be a non-empty list of stages")
    titles: dict[str, str] = {}
    for index, stage in enumerate(spec):
        if not isinstance(stage, dict) or not stage.get("title"):
            raise ValueError(f"workflow stage #{index} needs a 'title'")
        if stage.get("type") not in NODE_TYPES:
            raise ValueError(f"workflow stage {stage['title']!r}: type must be one of {sorted(NODE_TYPES)}")
        title = str(stage["title"])
        if title in titles:
            raise ValueError(f"workflow stage title {title!r} is used twice")
        titles[title] = str(stage.get("uuid") or uuid.uuid5(_NAMESPACE, f"{project_hash}:stage:{title}"))

    def ref(stage: dict[str, Any], key: str) -> str:
        target = stage.get(key)
        if target is None or str(target) not in titles:
            raise ValueError(f"workflow stage {stage['title']!r}: {key!r} must name a stage, got {target!r}")
        return titles[str(target)]

    nodes = [_build_node(project_hash, stage, titles[str(stage["title"])], ref) for stage in spec]
    graph = {"nodes": nodes}
    _validate_graph(graph)
    return graph


def _build_node(project_hash: str, stage: dict[str, Any], node_uuid: str, ref: Any) -> dict[str, Any]:
    kind = str(stage["type"])
    node: dict[str, Any] = {"uuid": node_uuid, "title": str(stage["title"]), "type": kind}
    if kind in ("start", "annotate"):
        node["to"] = ref(stage, "to")
    elif kind == "review":
        node["approve"] = ref(stage, "approve")
        node["reject"] = ref(stage, "reject")
    elif kind == "agent":
        pathways = stage.get("pathways")
        if not isinstance(pathways, dict) or not pathways:
            raise ValueError(f"agent stage {stage['title']!r} needs 'pathways': {{name: destination stage}}")
        node["pathways"] = [
            {
                "uuid": str(uuid.uuid5(_NAMESPACE, f"{project_hash}:pathway:{stage['title']}:{name}")),
                "title": str(name),
                "to": ref({"title": stage["title"], "to": target}, "to"),
            }
            for name, target in pathways.items()
        ]
    elif kind == "router":
        routes = stage.get("routes")
        if not isinstance(routes, list) or not routes:
            raise ValueError(f"router {stage['title']!r} needs 'routes': [{{to, percentage}}]")
        node["routes"] = [
            {"to": _route_ref(stage, route, ref), "percentage": float(route.get("percentage", 0))}
            for route in routes
        ]
        if abs(sum(route["percentage"] for route in node["routes"]) - 100.0) > 1e-6:
            raise ValueError(f"router {stage['title']!r}: route percentages must add up to 100")
    return node


def _route_ref(stage: dict[str, Any], route: Any, ref: Any) -> str:
    if not isinstance(route, dict):
        raise ValueError(f"router {stage['title']!r}: each route must be a mapping {{to, percentage}}")
    return str(ref({"title": stage["title"], "to": route.get("to")}, "to"))


def _validate_graph(graph: dict[str, Any]) -> None:
    nodes = graph["nodes"]
    starts = [node for node in nodes if node["type"] == "start"]
    if len(starts) != 1:
        raise ValueError(f"workflow needs exactly one 'start' stage, found {len(starts)}")
    if not any(node["type"] == "complete" for node in nodes):
        raise ValueError("workflow needs at least one 'complete' stage")
    for node in nodes:  # every router/start chain must end at a real stage
        for target in _outgoing(node):
            resolve_stage(graph, target, "0" * 32)
            for bucket in range(0, 100, 7):  # probe every router branch
                resolve_stage(graph, target, f"{bucket:032d}")


def _outgoing(node: dict[str, Any]) -> list[str]:
    targets = [node.get("to"), node.get("approve"), node.get("reject")]
    targets += [pathway["to"] for pathway in node.get("pathways", [])]
    targets += [route["to"] for route in node.get("routes", [])]
    return [target for target in targets if target]


# ---------------------------------------------------------------- graph queries


def node_by_uuid(graph: dict[str, Any], node_uuid: str) -> dict[str, Any] | None:
    return next((node for node in graph["nodes"] if node["uuid"] == node_uuid), None)


def node_by_title(graph: dict[str, Any], title: str) -> dict[str, Any] | None:
    return next((node for node in graph["nodes"] if node["title"] == title), None)


def start_node(graph: dict[str, Any]) -> dict[str, Any]:
    return next(node for node in graph["nodes"] if node["type"] == "start")


def resolve_stage(graph: dict[str, Any], node_uuid: str, data_hash: str) -> dict[str, Any]:
    """The stage a task lands on when sent to ``node_uuid`` (start/routers forward it at once)."""
    for _ in range(MAX_ROUTER_HOPS):
        node = node_by_uuid(graph, node_uuid)
        if node is None:
            raise ValueError(f"workflow references unknown stage {node_uuid}")
        if node["type"] == "start":
            node_uuid = node["to"]
        elif node["type"] == "router":
            node_uuid = _route(node, data_hash)
        else:
            return node
    raise ValueError("workflow routers form a loop")


def _route(node: dict[str, Any], data_hash: str) -> str:
    bucket = int(hashlib.sha256(f"{node['uuid']}:{data_hash}".encode()).hexdigest(), 16) % 10000 / 100.0
    cumulative = 0.0
    for route in node["routes"]:
        cumulative += route["percentage"]
        if bucket < cumulative:
            return str(route["to"])
    return str(node["routes"][-1]["to"])


def entry_stage(graph: dict[str, Any], data_hash: str) -> dict[str, Any]:
    """Where new data enters: the stage after start."""
    return resolve_stage(graph, start_node(graph)["uuid"], data_hash)


def sdk_stages(graph: dict[str, Any]) -> list[dict[str, Any]]:
    """``ProjectDTO.workflow.stages``: no start, no routers (the SDK asserts on router stages)."""
    stages = []
    for node in graph["nodes"]:
        stage_type = NODE_TYPES[node["type"]]
        if stage_type is None:
            continue
        stage: dict[str, Any] = {"stageType": stage_type, "uuid": node["uuid"], "title": node["title"]}
        if node["type"] == "agent":
            stage["pathways"] = [
                {"uuid": p["uuid"], "title": p["title"], "destinationUuid": p["to"]} for p in node["pathways"]
            ]
        stages.append(stage)
    return stages


# ---------------------------------------------------------------- tasks


def task_id(project_hash: str, data_hash: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{project_hash}:task:{data_hash}"))


def new_task(project: dict[str, Any], row: dict[str, Any], stamp: str) -> dict[str, Any]:
    graph = project["workflow"]
    stage = entry_stage(graph, row["data_hash"])
    return {
        "uuid": task_id(project["project_hash"], row["data_hash"]),
        "project_hash": project["project_hash"],
        "data_hash": row["data_hash"],
        "dataset_hash": row["dataset_hash"],
        "data_title": row.get("data_title") or row["data_hash"],
        "stage_uuid": stage["uuid"],
        "status": "NEW",
        "assignee": None,
        "last_actioned_by": None,
        "priority": None,
        "reviewed": False,
        "created_at": stamp,
        "updated_at": stamp,
    }


def move_task(
    graph: dict[str, Any], task: dict[str, Any], target_uuid: str, actor: str, status: str = "NEW"
) -> None:
    """Send ``task`` to ``target_uuid`` (resolving routers) and record who did it."""
    stage = resolve_stage(graph, target_uuid, task["data_hash"])
    task["stage_uuid"] = stage["uuid"]
    task["status"] = "COMPLETED" if stage["type"] == "complete" else status
    task["assignee"] = None
    task["last_actioned_by"] = actor
    task["updated_at"] = now_iso()


def tasks_of_project(store: Store, project_hash: str) -> list[dict[str, Any]]:
    return store.query(TASK_KIND, project_hash=project_hash)


def get_project_doc(store: Store, project_hash: str) -> dict[str, Any]:
    doc = store.get(PROJECT_KIND, project_hash)
    if doc is None:
        raise not_found(f"project {project_hash} does not exist")
    return doc


def task_dto(task: dict[str, Any]) -> dict[str, Any]:
    """``AgentTask`` / ``AnnotationTask`` / ``ReviewTask`` / ``FinalStageTask`` (superset, all present)."""
    return {
        "uuid": task["uuid"],
        "createdAt": task["created_at"],
        "updatedAt": task["updated_at"],
        "status": task["status"],
        "dataHash": task["data_hash"],
        "dataTitle": task["data_title"],
        "labelBranchName": "main",
        "assignee": task["assignee"],
        "lastActionedBy": task["last_actioned_by"],
    }


def _matches(task: dict[str, Any], filters: dict[str, Any]) -> bool:
    if filters["user_emails"] and task["assignee"] not in filters["user_emails"]:
        return False
    if filters["data_hashes"] and task["data_hash"] not in filters["data_hashes"]:
        return False
    if filters["dataset_hashes"] and task["dataset_hash"] not in filters["dataset_hashes"]:
        return False
    if filters["title"] and filters["title"].lower() not in str(task["data_title"]).lower():
        return False
    return not filters["statuses"] or task["status"] in filters["statuses"]


@router.get("/projects/{project_hash}/workflow/stages/{stage_uuid}/tasks")
def list_tasks(
    request: Request,
    project_hash: str,
    stage_uuid: str,
    ctx: Ctx,
    user_emails: Annotated[list[str] | None, Query(alias="userEmails")] = None,
    data_hashes: Annotated[list[str] | None, Query(alias="dataHashes")] = None,
    dataset_hashes: Annotated[list[str] | None, Query(alias="datasetHashes")] = None,
    data_title_contains: Annotated[str | None, Query(alias="dataTitleContains")] = None,
    statuses: Annotated[list[str] | None, Query(alias="statuses")] = None,
    page_token: Annotated[str | None, Query(alias="pageToken")] = None,
) -> dict[str, Any]:
    from encord_emulator.projects import sync_project_tasks

    project = sync_project_tasks(ctx.app, project_hash)
    node = node_by_uuid(project["workflow"], stage_uuid)
    if node is None or NODE_TYPES[node["type"]] is None:
        raise not_found(f"stage {stage_uuid} is not a stage of project {project_hash}")
    filters = {
        "user_emails": set(user_emails or []),
        "data_hashes": {h.lower() for h in data_hashes or []},
        "dataset_hashes": {h.lower() for h in dataset_hashes or []},
        "title": data_title_contains,
        "statuses": set(statuses or []),
    }
    tasks = [
        t
        for t in ctx.store.query(TASK_KIND, project_hash=project_hash, stage_uuid=stage_uuid)
        if _matches(t, filters)
    ]
    page_size = int(app_state(request).setting("task_page_size", DEFAULT_TASK_PAGE_SIZE))
    page = keyset_page(tasks, "created_at", page_size, page_token)
    return {"results": [task_dto(t) for t in page["results"]], "nextPageToken": page["nextPageToken"]}


# ---------------------------------------------------------------- actions


def apply_actions(
    store: Store, project: dict[str, Any], stage_uuid: str, actions: list[dict[str, Any]], actor: str
) -> list[dict[str, Any]]:
    """Validate every action first, then apply all of them in one transaction (all or nothing).

    Raises ``invalid_arguments`` (HTTP 400 -> ``InvalidArgumentsError``) naming the first bad action,
    which is what encord-agents relies on to replay a rejected bundle task by task.
    """
    graph = project["workflow"]
    node = node_by_uuid(graph, stage_uuid)
    if node is None or NODE_TYPES[node["type"]] is None:
        raise invalid_arguments(f"stage {stage_uuid} is not a stage of project {project['project_hash']}")
    with store.transaction():
        ids = [str(action.get("taskUuid") or action.get("task_uuid") or "") for action in actions]
        tasks = store.get_many(TASK_KIND, ids)
        plan = [
            _plan_action(graph, node, tasks.get(task_uuid), task_uuid, action)
            for task_uuid, action in zip(ids, actions, strict=True)
        ]
        if len(set(ids)) != len(ids):
            raise invalid_arguments("the same task appears twice in one actions request")
        for task, apply in plan:
            apply(task, actor)
            store.put(TASK_KIND, task["uuid"], task)
    return [task for task, _ in plan]


def _plan_action(
    graph: dict[str, Any],
    node: dict[str, Any],
    task: dict[str, Any] | None,
    task_uuid: str,
    action: dict[str, Any],
) -> tuple[dict[str, Any], Any]:
    if task is None:
        raise invalid_arguments(f"task {task_uuid} does not exist")
    if task["stage_uuid"] != node["uuid"]:
        raise invalid_arguments(f"task {task_uuid} is not in stage {node['title']!r} (it has moved on)")
    kind = str(action.get("action", ""))
    allowed = _ALLOWED_ACTIONS.get(node["type"], set())
    if kind not in allowed:
        raise invalid_arguments(
            f"action {kind!r} is not allowed in {node['type']} stage {node['title']!r}; allowed: {sorted(allowed)}"
        )
    if kind == "PATHWAY_ACTION":
        target = _pathway_target(node, action)
        return task, lambda t, actor: move_task(graph, t, target, actor)
    if kind == "SUBMIT":
        return task, lambda t, actor: move_task(graph, t, node["to"], actor)
    if kind == "APPROVE":
        return task, lambda t, actor: _approve(graph, t, node["approve"], actor)
    if kind == "REJECT":
        return task, lambda t, actor: move_task(graph, t, node["reject"], actor, status="REOPENED")
    if kind == "ASSIGN":
        assignee = action.get("assignee")
        if not assignee:
            raise invalid_arguments(f"ASSIGN for task {task_uuid} needs an assignee")
        return task, lambda t, actor: t.update(assignee=assignee, status="ASSIGNED", updated_at=now_iso())
    return task, lambda t, actor: t.update(assignee=None, status="RELEASED", updated_at=now_iso())


def _approve(graph: dict[str, Any], task: dict[str, Any], target: str, actor: str) -> None:
    task["reviewed"] = True
    move_task(graph, task, target, actor)


_ALLOWED_ACTIONS = {
    "agent": {"PATHWAY_ACTION", "ASSIGN", "RELEASE"},
    "annotate": {"SUBMIT", "ASSIGN", "RELEASE"},
    "review": {"APPROVE", "REJECT", "ASSIGN", "RELEASE"},
}


def _pathway_target(node: dict[str, Any], action: dict[str, Any]) -> str:
    pathway_uuid = action.get("pathwayUuid") or action.get("pathway_uuid")
    pathway_name = action.get("pathwayName") or action.get("pathway_name")
    for pathway in node["pathways"]:
        if (pathway_uuid and str(pathway_uuid).lower() == pathway["uuid"]) or (
            pathway_name and pathway_name == pathway["title"]
        ):
            return str(pathway["to"])
    names = [pathway["title"] for pathway in node["pathways"]]
    raise invalid_arguments(
        f"agent stage {node['title']!r} has no pathway {pathway_name or pathway_uuid!r}; pathways: {names}"
    )


@router.post("/projects/{project_hash}/workflow/stages/{stage_uuid}/actions")
def post_actions(project_hash: str, stage_uuid: str, actions: list[dict[str, Any]], ctx: Ctx) -> None:
    project = get_project_doc(ctx.store, project_hash)
    apply_actions(ctx.store, project, stage_uuid, actions, ctx.user_email)


@router.post("/projects/{project_hash}/workflow/stages/{stage_uuid}/move-tasks")
def move_tasks(project_hash: str, stage_uuid: str, body: dict[str, Any], ctx: Ctx) -> None:
    project = get_project_doc(ctx.store, project_hash)
    graph = project["workflow"]
    destination = str(body.get("destinationStageUuid") or body.get("destination_stage_uuid") or "")
    target = node_by_uuid(graph, destination)
    if target is None or target["type"] == "start":
        raise invalid_arguments(f"destination {destination!r} is not a stage of project {project_hash}")
    task_uuids = [str(t) for t in body.get("taskUuids") or body.get("task_uuids") or []]
    with ctx.store.transaction():
        tasks = ctx.store.get_many(TASK_KIND, task_uuids)
        for task_uuid in task_uuids:
            task = tasks.get(task_uuid)
            if task is None or task["stage_uuid"] != stage_uuid:
                raise invalid_arguments(f"task {task_uuid} is not in stage {stage_uuid}")
        for task in tasks.values():
            move_task(graph, task, destination, ctx.user_email)
            ctx.store.put(TASK_KIND, task["uuid"], task)


@router.post("/projects/{project_hash}/priorities")
def set_priorities(project_hash: str, body: dict[str, Any], ctx: Ctx) -> None:
    get_project_doc(ctx.store, project_hash)
    with ctx.store.transaction():
        for data_hash, priority in body.get("priorities") or []:
            task = ctx.store.get(TASK_KIND, task_id(project_hash, str(data_hash)))
            if task is None:
                raise invalid_arguments(f"data {data_hash} has no task in project {project_hash}")
            task["priority"] = float(priority)
            ctx.store.put(TASK_KIND, task["uuid"], task)


def stage_counts(graph: dict[str, Any], tasks: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Task count per stage title (every stage listed, zero included)."""
    counts = {node["title"]: 0 for node in graph["nodes"] if NODE_TYPES[node["type"]] is not None}
    for task in tasks:
        node = node_by_uuid(graph, task["stage_uuid"])
        if node is not None:
            counts[node["title"]] = counts.get(node["title"], 0) + 1
    return counts
