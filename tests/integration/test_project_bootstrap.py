"""Projects from config against the emulator with the real SDK: create from scratch, a second run creates
nothing, every drift kind is reported (or fails with `on_drift: fail`), workflow templates by title and by
hash, and the guide's examples ("Apple" with "Color", "Time of day") round-trip."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from encord.objects.attributes import RadioAttribute
from encord.objects.classification import Classification
from encord.objects.common import Shape
from encord.objects.ontology_object import Object
from encord.objects.ontology_structure import OntologyStructure
from encord.orm.dataset import StorageLocation
from encord.user_client import EncordUserClient
from encord_emulator.testing import EmulatorProcess
from encord_provider.config.loader import parse_pipelines
from encord_provider.encord_api.gateway import EncordApi
from encord_provider.projects.bootstrap import (
    BootstrapError,
    BootstrapPlan,
    FindOnly,
    NotBootstrappedError,
    bootstrap_project,
    plan_for,
    require_project,
)
from encord_provider.projects.drift import BootstrapDriftError, BootstrapReport

REVIEW_STAGES = ["Annotate 1", "Review 1", "Complete"]


def _seed_templates(emulator: EmulatorProcess, tag: str) -> dict[str, str]:
    """Two templates as a user makes them in the app (the SDK cannot create or list templates)."""
    review, agent = str(uuid.uuid4()), str(uuid.uuid4())
    emulator.admin_post(
        "/admin/seed",
        {"workflow_templates": [
            {"title": f"review-{tag}", "uuid": review, "workflow": [
                {"title": "Start", "type": "start", "to": "Annotate 1"},
                {"title": "Annotate 1", "type": "annotate", "to": "Review 1"},
                {"title": "Review 1", "type": "review", "approve": "Complete", "reject": "Annotate 1"},
                {"title": "Complete", "type": "complete"}]},
            {"title": f"agent-{tag}", "uuid": agent, "workflow": [
                {"title": "Start", "type": "start", "to": "Pre-label"},
                {"title": "Pre-label", "type": "agent", "pathways": {"done": "Complete"}},
                {"title": "Complete", "type": "complete"}]},
        ]},
    )  # fmt: skip
    return {"review": review, "agent": agent}


def _config(tag: str, templates: dict[str, str], **overrides: Any) -> dict[str, Any]:
    bootstrap = {
        "title": f"Fruit project {tag}",
        "ontology": f"Fruit {tag}",
        "datasets": [f"fruit-{tag}"],
        "workflow": f"Review {tag}",
        **overrides,
    }
    return {
        "ontologies": [{
            "title": f"Fruit {tag}", "description": "the getting-started guide's example",
            "objects": [
                {"name": "Apple", "shape": "polygon", "required": True, "attributes": [
                    {"name": "Color", "type": "radio", "options": ["Red", "Green", "Yellow"]}]},
                {"name": "Crate", "shape": "bounding_box", "attributes": [
                    {"name": "Condition", "type": "radio", "options": [
                        "Intact", {"label": "Damaged", "attributes": [{"name": "Damage", "type": "text"}]}]},
                    {"name": "Contents", "type": "checklist", "options": ["Apples", "Pears"]}]},
                {"name": "Box", "shape": "rotatable_bounding_box"},
                {"name": "Stem", "shape": "polyline"},
                {"name": "Seed", "shape": "point"},
                {"name": "Bruise", "shape": "bitmask"},
                {"name": "Picker", "shape": "skeleton", "keypoints": ["head", "hand"], "edges": [["head", "hand"]]},
            ],
            "classifications": [
                {"name": "Time of day", "type": "radio", "options": ["Night", "Day"]},
                {"name": "Notes", "type": "text"},
            ],
        }],
        "workflow_templates": [
            {"title": f"Review {tag}", "hash": templates["review"], "stages": REVIEW_STAGES},
            {"title": f"Agent {tag}", "hash": templates["agent"], "stages": ["Pre-label", "Complete"]},
        ],
        "projects": [{"name": "fruit", "encord_conn_id": "encord_test", "bootstrap": bootstrap,
                      "export": {"uri": "s3://warehouse-bootstrap"}}],
    }  # fmt: skip


def _plan(config: dict[str, Any]) -> BootstrapPlan:
    import yaml

    pipelines = parse_pipelines(yaml.safe_dump(config), "pipelines.yaml")
    return BootstrapPlan.from_dict(
        plan_for(pipelines.projects[0], pipelines).to_dict()
    )  # as the task gets it


@pytest.fixture
def api(encord_client: EncordUserClient) -> EncordApi:
    return EncordApi(encord_client, conn_id="encord_test")


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def templates(encord_emulator: EmulatorProcess, tag: str) -> dict[str, str]:
    return _seed_templates(encord_emulator, tag)


def _kinds(report: BootstrapReport) -> list[str]:
    return sorted({drift.kind for drift in report.drift})


def test_creates_everything_then_a_second_run_creates_nothing(
    api: EncordApi, encord_client: EncordUserClient, tag: str, templates: dict[str, str]
) -> None:
    plan = _plan(_config(tag, templates))
    first = bootstrap_project(api, plan)
    assert first.created == [
        f"ontology 'Fruit {tag}'",
        f"dataset 'fruit-{tag}'",
        f"project 'Fruit project {tag}'",
    ]
    assert first.drift == []
    project = encord_client.get_project(require_project(first))
    assert [stage.title for stage in project.workflow.stages] == REVIEW_STAGES
    assert [d.title for d in project.list_datasets()] == [f"fruit-{tag}"]
    assert project.ontology_hash == first.ontology_hash

    second = bootstrap_project(api, plan)
    assert second.created == [] and second.drift == []
    assert second.project_hash == first.project_hash and second.ontology_hash == first.ontology_hash
    assert set(second.actions.values()) == {"found"}
    assert len(encord_client.get_ontologies(title_eq=f"Fruit {tag}")) == 1
    assert len(list(encord_client.list_projects(title_eq=f"Fruit project {tag}"))) == 1


def test_the_guides_examples_round_trip(
    api: EncordApi, encord_client: EncordUserClient, tag: str, templates: dict[str, str]
) -> None:
    report = bootstrap_project(api, _plan(_config(tag, templates)))
    structure = encord_client.get_project(require_project(report)).ontology_structure
    apple = structure.get_child_by_title("Apple", type_=Object)
    assert apple.shape == Shape.POLYGON and apple.required
    color = apple.get_child_by_title("Color", type_=RadioAttribute)
    assert [option.label for option in color.options] == ["Red", "Green", "Yellow"]
    time_of_day = structure.get_child_by_title("Time of day", type_=Classification)
    assert [option.label for option in time_of_day.attributes[0].options] == ["Night", "Day"]
    shapes = {obj.name: obj.shape for obj in structure.objects}
    assert shapes["Box"] == Shape.ROTATABLE_BOUNDING_BOX and shapes["Bruise"] == Shape.BITMASK
    assert shapes["Picker"] == Shape.SKELETON and "Picker" in structure.skeleton_templates
    damaged = structure.get_child_by_title("Damaged")
    assert [nested.name for nested in damaged.nested_options] == ["Damage"]  # type: ignore[attr-defined]


def test_ontology_structure_drift_is_reported_and_not_overwritten(
    api: EncordApi, encord_client: EncordUserClient, tag: str, templates: dict[str, str]
) -> None:
    structure = OntologyStructure()
    apple = structure.add_object("Apple", Shape.BOUNDING_BOX)
    color = apple.add_attribute(RadioAttribute, "Color")
    for label in ("Red", "Green"):
        color.add_option(label)
    existing = encord_client.create_ontology(f"Fruit {tag}", structure=structure)
    report = bootstrap_project(api, _plan(_config(tag, templates)))
    assert (
        report.actions[f"ontology 'Fruit {tag}'"] == "found"
        and report.ontology_hash == existing.ontology_hash
    )
    details = [drift.detail for drift in report.drift if drift.kind == "ontology_structure"]
    assert "objects/Apple/shape: Encord has 'bounding_box', the config says 'polygon'" in details
    assert "objects/Apple/attributes/Color/options/Yellow: in the config, not in Encord" in details
    assert "classifications/Time of day: in the config, not in Encord" in details
    after = encord_client.get_ontology(existing.ontology_hash).structure
    assert [o.name for o in after.objects] == ["Apple"] and after.classifications == []  # untouched
    assert report.project_hash is not None  # drift is reported; the project still uses the found ontology


def test_project_dataset_workflow_and_ontology_drift(
    api: EncordApi, encord_client: EncordUserClient, tag: str, templates: dict[str, str]
) -> None:
    first = bootstrap_project(api, _plan(_config(tag, templates)))
    project = encord_client.get_project(require_project(first))
    extra = encord_client.create_dataset(f"extra-{tag}", StorageLocation.AWS)
    project.add_datasets([extra.dataset_hash])
    other = encord_client.create_ontology(f"Other {tag}", structure=OntologyStructure())
    plan = _plan(_config(tag, templates, datasets=[f"fruit-{tag}", f"more-{tag}"], workflow=f"Agent {tag}"))
    report = bootstrap_project(api, plan)
    assert _kinds(report) == ["project_datasets", "project_workflow"]
    lines = [str(drift) for drift in report.drift]
    assert any(f"datasets ['more-{tag}'] are not attached" in line for line in lines)
    assert any(f"datasets ['extra-{tag}'] are attached, not in the config" in line for line in lines)
    assert any(
        f"stages are {REVIEW_STAGES}, the config says ['Pre-label', 'Complete']" in line for line in lines
    )
    assert report.created == [f"dataset 'more-{tag}'"]  # a missing dataset is created, never attached
    assert [d.title for d in encord_client.get_project(first.project_hash).list_datasets()] == [
        f"fruit-{tag}", f"extra-{tag}"
    ]  # fmt: skip

    config = _config(tag, templates)
    config["ontologies"][0]["title"] = f"Other {tag}"
    config["ontologies"][0]["objects"] = config["ontologies"][0]["objects"][:1]
    report = bootstrap_project(api, _plan({**config, "projects": [{
        **config["projects"][0], "bootstrap": {**config["projects"][0]["bootstrap"], "ontology": f"Other {tag}"}}]}))  # fmt: skip
    assert "project_ontology" in _kinds(report) and report.ontology_hash == other.ontology_hash


def test_a_title_found_twice_is_drift_and_nothing_is_created(
    api: EncordApi, encord_client: EncordUserClient, tag: str, templates: dict[str, str]
) -> None:
    for _ in range(2):
        encord_client.create_ontology(f"Fruit {tag}", structure=OntologyStructure())
    report = bootstrap_project(api, _plan(_config(tag, templates)))
    assert _kinds(report) == ["duplicate_title"] and report.project_hash is None
    assert list(encord_client.list_projects(title_eq=f"Fruit project {tag}")) == []
    with pytest.raises(BootstrapError, match="2 ontologies have this title"):
        require_project(report)

    for title in ("p", "p"):
        encord_client.create_project(f"Twice {tag} {title}", [])
    report = bootstrap_project(
        api, _plan(_config(tag, templates, title=f"Twice {tag} p", ontology=f"Fruit {tag}"))
    )
    assert [d.kind for d in report.drift].count("duplicate_title") == 2


def test_on_drift_fail_raises_with_the_report(
    api: EncordApi, encord_client: EncordUserClient, tag: str, templates: dict[str, str]
) -> None:
    bootstrap_project(api, _plan(_config(tag, templates)))
    with pytest.raises(BootstrapDriftError, match="project_workflow"):
        bootstrap_project(api, _plan(_config(tag, templates, workflow=f"Agent {tag}", on_drift="fail")))


def test_workflow_template_by_hash_and_agent_stages_checked(
    api: EncordApi, encord_client: EncordUserClient, tag: str, templates: dict[str, str]
) -> None:
    config = _config(tag, templates, workflow={"template": templates["agent"]})
    config["workflow_templates"] = []  # a bare hash needs no catalogue entry
    config["projects"][0]["agents"] = [{"stage": "Pre-label", "agent": "agents.pre_label:pre_label"}]
    report = bootstrap_project(api, _plan(config))
    project = encord_client.get_project(require_project(report))
    assert [stage.title for stage in project.workflow.stages] == ["Pre-label", "Complete"]
    assert report.drift == []
    config["projects"][0]["agents"] = [{"stage": "Pre-classify", "agent": "agents.pre_label:pre_label"}]
    report = bootstrap_project(api, _plan(config))
    assert [str(d) for d in report.drift] == [
        f"project_workflow: project 'Fruit project {tag}': agent stages ['Pre-classify'] are not in "
        "['Pre-label', 'Complete']"
    ]


def test_an_undeclared_ontology_must_exist(api: EncordApi, tag: str, templates: dict[str, str]) -> None:
    plan = _plan(_config(tag, templates, ontology=f"Nowhere {tag}"))
    with pytest.raises(BootstrapError, match="not in Encord and not declared"):
        bootstrap_project(api, plan)


def test_a_lost_create_response_is_not_created_twice(
    encord_emulator: EmulatorProcess, encord_client: EncordUserClient, tag: str, templates: dict[str, str]
) -> None:
    """Encord creates the ontology and the project but the answers are lost (a 502 after the commit)."""
    encord_emulator.admin_post(
        "/admin/faults",
        {"rules": [
            {"pattern": "^POST /v2/public/ontologies$", "mode": "lost_response", "error_rate": 1.0,
             "status": 502, "max_faults": 1},
            {"pattern": "^RPC user:project:POST$", "mode": "lost_response", "error_rate": 1.0,
             "status": 502, "max_faults": 1},
        ]},
    )  # fmt: skip
    api = EncordApi(encord_client, conn_id="encord_test", sleep=lambda _: None)
    try:
        report = bootstrap_project(api, _plan(_config(tag, templates)))
        injected = [rule["injected"] for rule in encord_emulator.admin_get("/admin/faults")["rules"]]
    finally:
        encord_emulator.admin_post("/admin/faults", {"rules": []})
    assert injected == [1, 1]
    assert report.created == [
        f"ontology 'Fruit {tag}'",
        f"dataset 'fruit-{tag}'",
        f"project 'Fruit project {tag}'",
    ]
    assert len(encord_client.get_ontologies(title_eq=f"Fruit {tag}")) == 1
    (project,) = encord_client.list_projects(title_eq=f"Fruit project {tag}")
    assert str(project.project_hash) == report.project_hash and report.drift == []


def test_find_only_never_creates_and_names_the_creating_dag(
    api: EncordApi, encord_client: EncordUserClient, tag: str, templates: dict[str, str]
) -> None:
    plan = _plan(_config(tag, templates))
    with pytest.raises(
        NotBootstrappedError,
        match=f"'Fruit {tag}' is not in Encord yet: the bootstrap task of encord_agents__fruit",
    ):
        bootstrap_project(FindOnly(api, "encord_agents__fruit"), plan)
    assert encord_client.get_ontologies(title_eq=f"Fruit {tag}") == []
    created = bootstrap_project(api, plan)
    found = bootstrap_project(FindOnly(api, "encord_agents__fruit"), plan)
    assert found.project_hash == created.project_hash and found.created == [] and found.drift == []
