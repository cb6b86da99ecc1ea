"""`ontologies:`, `workflow_templates:` and a project's `bootstrap:`: what parses, and every error naming
the file, the line and the field."""

from __future__ import annotations

import pytest
from encord_provider.config import parse_pipelines
from encord_provider.projects.bootstrap import plan_for
from encord_provider.projects.structure import config_outline

from tests.unit.test_config_projects import _error, _line_of

HASH = "6b1f0c3e-8a43-4a57-9a0c-2f1d6c0e9b11"
TEXT = f"""
ontologies:
  - title: Fruit
    objects:
      - name: Apple
        shape: polygon
        attributes:
          - name: Color
            type: radio
            options: [Red, Green, Yellow]
    classifications:
      - name: Time of day
        type: radio
        options: [Night, Day]
workflow_templates:
  - title: Review
    hash: {HASH}
    stages: [Annotate 1, Review 1, Complete]
projects:
  - name: fruit
    bootstrap:
      title: Fruit project
      ontology: Fruit
      datasets: [Fruit images]
      workflow: Review
    agents:
      - stage: Annotate 1
        agent: agents.pre_label:pre_label
"""


def test_the_guides_examples_parse_and_resolve() -> None:
    pipelines = parse_pipelines(TEXT)
    project = pipelines.projects[0]
    assert project.project_hash is None and project.bootstrap is not None
    assert project.bootstrap.on_drift == "report"
    plan = plan_for(project, pipelines)
    assert plan.template_hash == HASH and plan.stages == ["Annotate 1", "Review 1", "Complete"]
    assert plan.agent_stages == ["Annotate 1"]
    outline = config_outline(pipelines.ontologies[0])
    assert list(outline["objects"]["Apple"]["attributes"]["Color"]["options"]) == ["Red", "Green", "Yellow"]
    assert outline["classifications"]["Time of day"]["type"] == "radio"


def test_attribute_and_classification_types_default_to_text() -> None:
    text = TEXT.replace("          - name: Color\n            type: radio\n            options: [Red, Green, Yellow]\n",
                        "          - name: Color\n")  # fmt: skip
    attribute = parse_pipelines(text).ontologies[0].objects[0].attributes[0]
    assert attribute.type == "text" and attribute.options == []


@pytest.mark.parametrize(
    ("old", "new", "line_of", "expected"),
    [
        ("shape: polygon", "shape: circle", "shape: circle", "ontologies[0].objects[0].shape: Input should be"),
        ("options: [Red, Green, Yellow]", "options: []", "- name: Color",
         "ontologies[0].objects[0].attributes[0]: attribute 'Color': a radio attribute needs at least one option"),
        ("options: [Red, Green, Yellow]", "options: [Red, Red]", "- name: Color",
         "ontologies[0].objects[0].attributes[0]: attribute 'Color': duplicate options ['Red']"),
        ("type: radio\n        options: [Night, Day]", "type: text\n        options: [Night, Day]",
         "- name: Time of day", "ontologies[0].classifications[0]: attribute 'Time of day': a text attribute has no options"),
        ("workflow: Review", "workflow: Reviews", "workflow: Reviews",
         "projects[0].bootstrap.workflow: no workflow_templates entry titled 'Reviews'; known: ['Review']"),
        (f"hash: {HASH}", "hash: abc", "hash: abc",
         "workflow_templates[0].hash: workflow template hash 'abc' is not a uuid"),
        ("stage: Annotate 1", "stage: Agent 1", "- stage: Agent 1",
         "projects[0].agents[0]: stages ['Agent 1'] are not in the project's workflow stages"),
        ("      ontology: Fruit\n", "", "bootstrap:", "projects[0].bootstrap.ontology: Field required"),
        ("      workflow: Review", "      workflow: Review\n      on_drift: ignore", "on_drift: ignore",
         "projects[0].bootstrap.on_drift: Input should be 'report' or 'fail'"),
    ],
)  # fmt: skip
def test_errors_name_file_line_and_field(old: str, new: str, line_of: str, expected: str) -> None:
    assert old in TEXT
    text = TEXT.replace(old, new, 1)
    assert f"include/pipelines.yaml:{_line_of(text, line_of)}: {expected}" in _error(text)


def test_line_numbers_point_at_the_bad_entry() -> None:
    text = TEXT.replace("shape: polygon", "shape: circle")
    assert (
        f"include/pipelines.yaml:{_line_of(text, 'shape: circle')}: ontologies[0].objects[0].shape"
        in _error(text)
    )
    text = TEXT.replace("workflow: Review", "workflow: Reviews")
    assert (
        f"include/pipelines.yaml:{_line_of(text, 'workflow: Reviews')}: projects[0].bootstrap.workflow"
        in _error(text)
    )


def test_duplicates_and_skeletons_are_checked() -> None:
    twice = TEXT.replace(
        "workflow_templates:",
        TEXT.split("workflow_templates:")[0].split("ontologies:")[1] + "workflow_templates:",
    )
    assert "ontologies: duplicate names ['Fruit']" in _error("ontologies:" + twice.split("ontologies:", 1)[1])
    skeleton = TEXT.replace(
        "shape: polygon", "shape: skeleton\n        keypoints: [a, b]\n        edges: [[a, c]]"
    )
    assert "skeleton object 'Apple': edges name unknown keypoints ['c']" in _error(skeleton)
    assert "needs 'keypoints'" in _error(TEXT.replace("shape: polygon", "shape: skeleton"))
    assert "keypoints and edges belong to shape skeleton only" in _error(
        TEXT.replace("shape: polygon", "shape: point\n        keypoints: [a]")
    )


def test_a_project_needs_a_hash_or_bootstrap() -> None:
    text = "projects:\n  - name: p\n    export: {uri: 's3://warehouse'}\n"
    assert (
        "include/pipelines.yaml:2: projects[0]: project 'p': give 'project_hash', or 'bootstrap'"
        in _error(text)
    )
