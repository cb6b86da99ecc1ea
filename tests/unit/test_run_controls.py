"""`deadline:` and `approval:` of a pipeline, and the export dialog's options: parse-time validation (file,
line, field), the DeadlineAlert and its default callback as the triggerer runs it, and when to ask."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from encord_provider.config import parse_pipelines
from encord_provider.config.durations import parse_duration
from encord_provider.ingest.approval import approval_request, archive_request

from tests.unit.test_config_projects import INGEST as BASE
from tests.unit.test_config_projects import _error, _line_of

EXPORT = """
projects:
  - name: cats
    project_hash: p1
    export:
      uri: s3://warehouse
"""


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90),
        ("45s", 45),
        ("30m", 1800),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1d", 86400),
        ("1.5h", 5400),
        ("PT2H", 7200),
    ],
)
def test_durations(text: Any, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "2 hours", "h", "-5", 0, "0m", True, "PT0S", "-PT1H", "P"])
def test_bad_durations(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_run_controls_parse() -> None:
    text = (
        BASE
        + "    deadline: {after: 2h, reference: logical_date}\n    approval: {above_objects: 500, timeout: 8h}\n"
    )
    pipeline = parse_pipelines(text).pipelines[0]
    assert pipeline.deadline is not None and pipeline.approval is not None
    assert pipeline.deadline.after == timedelta(hours=2) and pipeline.deadline.reference == "logical_date"
    assert pipeline.deadline.callback == "encord_provider.deadlines.log_missed_deadline"
    assert pipeline.approval.above_objects == 500 and pipeline.approval.timeout == timedelta(hours=8)
    assert parse_pipelines(BASE).pipelines[0].deadline is None
    # tasks get the pipeline as JSON (durations become ISO 8601) and validate it again
    again = type(pipeline).model_validate(pipeline.model_dump(mode="json"))
    assert again.deadline == pipeline.deadline and again.approval == pipeline.approval


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("    deadline: {after: soon}\n", "pipelines[0].deadline.after: 'soon' is not a duration"),
        ("    deadline: {after: 2h, callback: not a path}\n", "pipelines[0].deadline.callback"),
        ("    deadline: {after: 2h, callback_kwargs: {context: 1}}\n", "must not set ['context']"),
        ("    deadline: {after: 2h, reference: started}\n", "pipelines[0].deadline.reference"),
        ("    approval: {above_objects: -1}\n", "pipelines[0].approval.above_objects"),
        ("    approval: {timeout: 1h}\n", "approval needs above_objects, above_deletions or both"),
        ("    approval: {above_deletions: -1}\n", "pipelines[0].approval.above_deletions"),
        (
            "    approval: {above_deletions: 0}\n",
            "but bucket_changes.deleted is 'report': set it to 'archive'",
        ),
    ],
)
def test_bad_run_controls_name_file_line_and_field(snippet: str, expected: str) -> None:
    text = BASE + snippet
    message = _error(text)
    assert f"include/pipelines.yaml:{_line_of(text, snippet.strip()[:12])}:" in message
    assert expected in message


def test_export_dialog_options_parse_and_validate() -> None:
    text = BASE + EXPORT + "      label_statuses: [REVIEWED, LABELLED, REVIEWED]\n      data_units: all\n"
    export = parse_pipelines(text).projects[0].export
    assert (
        export is not None
        and export.label_statuses == ["REVIEWED", "LABELLED"]
        and export.data_units == "all"
    )
    default = parse_pipelines(BASE + EXPORT).projects[0].export
    assert default is not None and default.label_statuses is None and default.data_units == "labelled"
    bad = BASE + EXPORT + "      label_statuses: [DONE]\n"
    assert (
        f"pipelines.yaml:{_line_of(bad, 'DONE')}: projects[0].export.label_statuses[0]: Input should be"
        in _error(bad)
    )
    lonely = BASE + EXPORT + "      label_statuses: [NOT_LABELLED]\n"
    assert "set data_units: all" in _error(lonely)
    assert "at least one status" in _error(BASE + EXPORT + "      label_statuses: []\n")


def test_export_and_agents_deadlines_parse_with_the_same_checks() -> None:
    agents = (
        "    agents: [{stage: A, agent: 'agents.pre_label:pre_label'}]\n    agents_deadline: {after: 30m}\n"
    )
    text = BASE + EXPORT.replace("    export:\n", agents + "    export:\n") + "      deadline: {after: 2h}\n"
    project = parse_pipelines(text).projects[0]
    assert project.export is not None and project.export.deadline is not None
    assert project.export.deadline.after == timedelta(hours=2)
    assert project.agents_deadline is not None and project.agents_deadline.after == timedelta(minutes=30)
    bad = BASE + EXPORT + "      deadline: {after: soon}\n"
    assert (
        f"pipelines.yaml:{_line_of(bad, 'deadline: {after: soon}')}: projects[0].export.deadline.after: 'soon'"
        in _error(bad)
    )
    lonely = BASE + EXPORT.replace("    export:\n", "    agents_deadline: {after: 1h}\n    export:\n")
    assert "agents_deadline need at least one 'agents' entry" in _error(lonely)


def test_label_statuses_are_the_sdks() -> None:
    from typing import get_args

    from encord.orm.label_row import AnnotationTaskStatus, LabelStatus
    from encord_provider.exports.label_status import TASK_STATUSES
    from encord_provider.exports.model import LabelStatusName

    sdk = {status.value for status in LabelStatus} - {LabelStatus.MISSING_LABEL_STATUS.value}
    assert set(get_args(LabelStatusName)) == sdk
    assert set(TASK_STATUSES) == sdk - {"NOT_LABELLED"}
    assert {task for tasks in TASK_STATUSES.values() for task in tasks} == {
        s.value for s in AnnotationTaskStatus
    }


def test_default_deadline_callback_runs_in_the_callback_trigger(caplog: pytest.LogCaptureFixture) -> None:
    from airflow.triggers.callback import CallbackTrigger
    from encord_provider.config.run_controls import DeadlineConfig
    from encord_provider.deadlines import build_deadline_alert

    alert = build_deadline_alert(
        DeadlineConfig.model_validate({"after": "90m"}), "demo_s3", "encord_ingest__demo_s3"
    )
    kwargs = {**alert.callback.kwargs, "context": {"dag_run": {"dag_run_id": "scheduled__1"},
                                                    "deadline": {"deadline_time": "2026-01-01T03:30:00Z"}}}  # fmt: skip
    trigger = CallbackTrigger(alert.callback.path, kwargs)

    async def events() -> list[Any]:
        return [event.payload async for event in trigger.run()]

    with caplog.at_level(logging.WARNING, logger="encord_provider.deadlines"):
        payloads = asyncio.run(events())
    assert [p["state"] for p in payloads] == ["running", "success"]
    assert (
        "DEADLINE MISSED: pipeline 'demo_s3': run scheduled__1 of encord_ingest__demo_s3 was not finished by "
        "2026-01-01T03:30:00Z (1.5 h after" in caplog.text
    )


def test_approval_is_asked_only_above_the_limit() -> None:
    plan = {
        "objects": 12,
        "entries": 9,
        "by_type": {"image": {"entries": 7, "objects": 10}, "video": {"entries": 2, "objects": 2}},
        "manifests": ["a", "b"],
    }
    assert approval_request("p", 12, plan) is None
    assert approval_request("p", 0, {}) is None
    request = approval_request("p", 11, plan)
    assert request is not None and request.subject == "Register 12 objects for pipeline p?"
    assert "10 image, 2 video" in request.body and "9 in 2 manifests" in request.body


def test_deletion_approval_parses_with_archive_and_asks_only_above_the_limit() -> None:
    text = BASE + "    bucket_changes: {deleted: archive}\n    approval: {above_deletions: 0}\n"
    approval = parse_pipelines(text).pipelines[0].approval
    assert approval is not None and (approval.above_objects, approval.above_deletions) == (None, 0)
    deleted = [{"key": f"in/{i}.jpg", "item": f"u{i}", "action": "awaiting"} for i in range(25)]
    plan = {
        "bucket_changes": {"deleted": [{"key": "gone.txt", "item": None}, *deleted], "awaiting_approval": 25}
    }
    assert archive_request("p", 25, plan) is None and archive_request("p", 0, {}) is None
    request = archive_request("p", 24, plan)
    assert request is not None and request.subject == "Archive 25 deleted objects for pipeline p?"
    assert "`in/0.jpg` (item u0)" in request.body and "... and 5 more" in request.body
    assert "gone.txt" not in request.body  # no item: nothing to archive, not asked about


@pytest.mark.parametrize("text", [0, "0m", "PT0S"])
def test_zero_is_a_duration_only_where_allowed(text: Any) -> None:
    assert parse_duration(text, allow_zero=True) == timedelta(0)


@pytest.mark.parametrize("text", ["-5", -5, "-PT1H", "soon"])
def test_negative_or_unreadable_durations_fail_even_where_zero_is_allowed(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(text, allow_zero=True)
