"""Workflow graphs (pure functions, no store): building a project's graph from its seed spelling, and
resolving where a task lands.

A project's graph (``project["workflow"]["nodes"]``) holds every node, routers and the start node
included; the SDK only ever sees the stage nodes (``sdk_stages``) because ``Workflow`` asserts on
router stages. A task sent to a router or the start node is forwarded at once, deterministically per
data hash.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

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
NAMESPACE = uuid.UUID("0b7f3c1e-2a44-4f51-8f0e-5d6c7b8a9e10")


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
        titles[title] = str(stage.get("uuid") or uuid.uuid5(NAMESPACE, f"{project_hash}:stage:{title}"))

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
                "uuid": str(uuid.uuid5(NAMESPACE, f"{project_hash}:pathway:{stage['title']}:{name}")),
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


def stage_counts(graph: dict[str, Any], tasks: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Task count per stage title (every stage listed, zero included)."""
    counts = {node["title"]: 0 for node in graph["nodes"] if NODE_TYPES[node["type"]] is not None}
    for task in tasks:
        node = node_by_uuid(graph, task["stage_uuid"])
        if node is not None:
            counts[node["title"]] = counts.get(node["title"], 0) + 1
    return counts
