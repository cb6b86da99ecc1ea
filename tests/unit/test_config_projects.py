"""`projects:` section validation: defaults, each validator, and loader errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from encord_provider.config import PipelinesConfigError, load_pipelines, parse_pipelines
from encord_provider.config.projects import DEFAULT_FORMATS, ExportConfig, ProjectPipeline
from pydantic import ValidationError

INGEST = """
pipelines:
  - name: demo_s3
    source: {cloud: s3, bucket: media}
    integration: {title: demo-aws}
    folder: {name: Demo folder}
    staging: {uri: "s3://staging/encord"}
"""

# The documented example of docs/agents-and-export.md, every field set.
FULL = (
    INGEST
    + """
projects:
  - name: cats
    encord_conn_id: encord_default
    project_hash: 00000000-0000-0000-0000-000000000000
    triggered_by_ingest: demo_s3
    agents:
      - stage: Pre-classify
        agent: agents.pre_classify:runner
        max_tasks_per_run: 1000
        bundle_size: 100
      - stage: Pre-label
        agent: agents.pre_label:pre_label
        include_signed_url: true
    export:
      uri: s3://my-warehouse/ml/
      conn_id: aws_default
      prefix: encord-labels
      schedule: "0 4 * * *"
      stage: Complete
      include_object_feature_hashes: null
      include_classification_feature_hashes: [abc123]
      signed_urls: false
      version_name_template: "v{number:05d}_{created_at:%Y%m%dT%H%M%SZ}"
      full_snapshot_every: 10
      formats: [json, coco, parquet, csv, json]
      coco: {point_segmentation: polygon, mask_iscrowd: false}
"""
)

MINIMAL_PROJECT = {"name": "cats", "project_hash": "p1", "export": {"uri": "gs://warehouse"}}


def _line_of(text: str, snippet: str) -> int:
    """1-based line of the first line holding `snippet` (the line the loader must report)."""
    return next(number for number, line in enumerate(text.splitlines(), 1) if snippet in line)


def _error(text: str) -> str:
    with pytest.raises(PipelinesConfigError) as info:
        parse_pipelines(text, "include/pipelines.yaml")
    return str(info.value)


def test_full_documented_entry_parses() -> None:
    project = parse_pipelines(FULL).projects[0]
    assert project.ingest_asset_uri == "encord://demo_s3/ingested"
    assert [a.stages for a in project.agents] == [["Pre-classify"], ["Pre-label"]]
    assert [a.include_signed_url for a in project.agents] == [False, True]
    export = project.export
    assert export is not None
    assert export.uri == "s3://my-warehouse/ml"
    assert export.bucket_url == "s3://my-warehouse" and export.base_prefix == "ml/encord-labels"
    assert export.formats == ["json", "coco", "parquet", "csv"]
    assert export.include_classification_feature_hashes == ["abc123"]
    assert export.schedule == "0 4 * * *" and export.stage == "Complete"
    assert export.coco.point_segmentation == "polygon" and not export.coco.mask_iscrowd


def test_coco_options_default_to_standard_coco_and_reject_unknown_values() -> None:
    export = ProjectPipeline.model_validate(MINIMAL_PROJECT).export
    assert export is not None and (export.coco.point_segmentation, export.coco.mask_iscrowd) == (
        "polygon",
        False,
    )
    message = _error(FULL.replace("point_segmentation: polygon", "point_segmentation: dot"))
    assert (
        f"pipelines.yaml:{_line_of(FULL, 'point_segmentation')}: projects[0].export.coco.point_segmentation"
        in message
    )


def test_defaults_of_a_minimal_project() -> None:
    project = ProjectPipeline.model_validate(MINIMAL_PROJECT)
    assert project.encord_conn_id == "encord_default" and project.agents == []
    assert project.agents_schedule is None and project.ingest_asset_uri is None and project.tags == []
    export = project.export
    assert export is not None
    assert export.schedule == "@daily" and export.prefix == "encord-labels"
    assert export.formats == list(DEFAULT_FORMATS) and export.full_snapshot_every == 10
    assert export.bundle_size == 500 and export.rows_per_file == 50_000 and not export.signed_urls
    assert export.fetch_workers == 2
    assert export.bucket_url == "gs://warehouse" and export.base_prefix == "encord-labels"


def test_agent_defaults_and_stage_forms() -> None:
    single = ProjectPipeline.model_validate(
        {"name": "c", "project_hash": "p", "agents": [{"stage": "Review", "agent": "pkg.mod.fn"}]}
    ).agents[0]
    assert single.stages == ["Review"]
    assert (single.max_tasks_per_run, single.bundle_size, single.include_signed_url) == (1000, 100, False)
    listed = ProjectPipeline.model_validate(
        {"name": "c", "project_hash": "p", "agents": [{"stages": ["A", "B"], "agent": "m:r"}]}
    ).agents[0]
    assert listed.stages == ["A", "B"]
    every = ProjectPipeline.model_validate(
        {"name": "c", "project_hash": "p", "agents": [{"agent": "m:r"}]}
    ).agents[0]
    assert every.stages == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "uri: s3://my-warehouse/ml/",
            "uri: ftp://my-warehouse",
            "projects[0].export.uri: export uri 'ftp://my-warehouse' must look like",
        ),
        (
            "uri: s3://my-warehouse/ml/",
            "uri: 's3://'",
            "projects[0].export.uri: export uri 's3://' must look like",
        ),
        (
            'version_name_template: "v{number:05d}_{created_at:%Y%m%dT%H%M%SZ}"',
            'version_name_template: "v{nubmer}"',
            "projects[0].export.version_name_template: version_name_template 'v{nubmer}' is invalid",
        ),
        (
            'version_name_template: "v{number:05d}_{created_at:%Y%m%dT%H%M%SZ}"',
            'version_name_template: "{created_at:%Y/%m}-{number}"',
            "projects[0].export.version_name_template: version_name_template '{created_at:%Y/%m}-{number}' yields an unusable folder name",
        ),
        (
            "agent: agents.pre_label:pre_label",
            "agent: include/agents/pre_label.py",
            "projects[0].agents[1].agent: agent 'include/agents/pre_label.py' is not an import path",
        ),
        (
            "formats: [json, coco, parquet, csv, json]",
            "formats: [json, xml]",
            "projects[0].export.formats[1]: Input should be 'json', 'coco', 'parquet' or 'csv'",
        ),
        (
            "formats: [json, coco, parquet, csv, json]",
            "formats: []",
            "projects[0].export.formats: export formats must name at least one",
        ),
        ("bundle_size: 100", "bundle_size: 0", "projects[0].agents[0].bundle_size: Input should be"),
        (
            "full_snapshot_every: 10",
            "full_snapshot_every: 0",
            "projects[0].export.full_snapshot_every: Input should be greater than or equal to 1",
        ),
        ("name: cats", "name: 'bad name!'", "projects[0].name: String should match pattern"),
        (
            "project_hash: 00000000-0000-0000-0000-000000000000",
            "project_hash: ''",
            "projects[0].project_hash: String should have at least 1 character",
        ),
        ("stage: Pre-classify", "stage: ''", "projects[0].agents[0].stage: stage titles/uuids"),
    ],
)
def test_bad_values_name_file_line_and_field(old: str, new: str, expected: str) -> None:
    assert old in FULL
    text = FULL.replace(old, new, 1)
    assert f"include/pipelines.yaml:{_line_of(text, new)}: {expected}" in _error(text)


@pytest.mark.parametrize(
    "template",
    [
        "v{number.nope}",  # AttributeError inside str.format
        "v{number[0]}",  # TypeError: int is not subscriptable
        "v{0}",  # positional field
        "v{number",  # unbalanced brace
        "v{number:%Y}",  # format spec that int rejects
    ],
)
def test_broken_templates_are_value_errors(template: str) -> None:
    with pytest.raises(ValidationError, match="is invalid"):
        ExportConfig.model_validate({"uri": "s3://bkt", "version_name_template": template})


@pytest.mark.parametrize("template", ["labels", "{kind}", "{created_at:%Y%m%d}", "{project}-{numberx}"])
def test_template_without_number_is_rejected(template: str) -> None:
    # The same folder for two versions would let the second overwrite the first.
    with pytest.raises(ValidationError, match="must use {number}|is invalid"):
        ExportConfig.model_validate({"uri": "s3://bkt", "version_name_template": template})


@pytest.mark.parametrize("template", ["{number}", "{project}_{kind}_{number:03d}", "v{number.real}"])
def test_templates_using_number_are_accepted(template: str) -> None:
    assert (
        ExportConfig.model_validate(
            {"uri": "s3://bkt", "version_name_template": template}
        ).version_name_template
        == template
    )


@pytest.mark.parametrize("uri", ["s3://bkt/p", "gs://bkt", "az://container/x", "file:///tmp/warehouse"])
def test_accepted_warehouse_uris(uri: str) -> None:
    assert ExportConfig.model_validate({"uri": uri + "/"}).uri == uri


def test_triggered_by_ingest_and_agents_schedule_are_exclusive() -> None:
    text = FULL.replace(
        "triggered_by_ingest: demo_s3", "triggered_by_ingest: demo_s3\n    agents_schedule: '@hourly'"
    )
    assert (
        f"include/pipelines.yaml:{_line_of(text, 'name: cats')}: projects[0]: project 'cats': set either triggered_by_ingest or "
        "agents_schedule, not both"
    ) in _error(text)


def test_schedule_without_agents_is_rejected() -> None:
    with pytest.raises(ValidationError, match="need at least one 'agents' entry"):
        ProjectPipeline.model_validate({**MINIMAL_PROJECT, "agents_schedule": "@hourly"})


def test_project_without_agents_or_export_is_rejected() -> None:
    with pytest.raises(ValidationError, match="give 'agents', 'export' or both"):
        ProjectPipeline.model_validate({"name": "c", "project_hash": "p"})


def test_unknown_ingest_pipeline_is_named_with_its_line() -> None:
    text = FULL.replace("triggered_by_ingest: demo_s3", "triggered_by_ingest: demo_s4")
    assert (
        f"include/pipelines.yaml:{_line_of(text, 'demo_s4')}: projects[0].triggered_by_ingest: no ingest pipeline named 'demo_s4' "
        "in this file; known: ['demo_s3']"
    ) in _error(text)


def test_unknown_ingest_pipeline_without_any_pipelines() -> None:
    text = FULL.split("\nprojects:", 1)[1].replace("triggered_by_ingest: demo_s3", "triggered_by_ingest: x")
    assert "projects[0].triggered_by_ingest: no ingest pipeline named 'x' in this file; known: []" in _error(
        "projects:" + text
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "prefix: encord-labels",
            "prefx: encord-labels",
            "projects[0].export.prefx: Extra inputs are not permitted",
        ),
        ("bundle_size: 100", "bundle: 100", "projects[0].agents[0].bundle: Extra inputs are not permitted"),
        ("encord_conn_id: encord_default", "conn_id: encord_default", "projects[0].conn_id: Extra inputs"),
        (
            "uri: s3://my-warehouse/ml/",
            "warehouse: {uri: s3://w}",
            "projects[0].export.warehouse: Extra inputs",
        ),
    ],
)
def test_unknown_keys_are_rejected(old: str, new: str, expected: str) -> None:
    assert expected in _error(FULL.replace(old, new, 1))


def test_duplicate_project_names() -> None:
    body = FULL.split("\nprojects:\n", 1)[1]
    assert "projects: duplicate names ['cats']" in _error(INGEST + "projects:\n" + body + body)


def test_load_pipelines_names_the_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.yaml"
    text = FULL.replace("uri: s3://my-warehouse/ml/", "uri: ftp://w")
    path.write_text(text)
    with pytest.raises(PipelinesConfigError) as info:
        load_pipelines(path)
    assert info.value.path == str(path)
    assert (
        f"{path}:{_line_of(text, 'ftp://w')}: projects[0].export.uri: export uri 'ftp://w' must look like"
        in str(info.value)
    )


def test_load_pipelines_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.yaml"
    path.write_text(
        FULL.replace("agents.pre_label:pre_label", "a/b.py").replace("formats: [json", "formats: [xml")
    )
    with pytest.raises(PipelinesConfigError) as info:
        load_pipelines(path)
    assert len(info.value.problems) == 2
    assert "projects[0].agents[1].agent" in str(info.value) and "projects[0].export.formats[0]" in str(
        info.value
    )


def test_full_entry_loads_from_file_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.yaml"
    path.write_text(FULL)
    project = load_pipelines(path).projects[0]
    dumped = yaml.safe_dump({"projects": [project.model_dump(by_alias=True)]})
    again = parse_pipelines(INGEST + dumped).projects[0]
    assert again == project


def test_projects_exporting_to_one_prefix_get_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    text = "projects:\n" + "".join(
        f"  - {{name: {name}, project_hash: p, export: {{uri: 's3://my-warehouse/ml', prefix: labels}}}}\n"
        for name in ("cats", "dogs")
    )
    with caplog.at_level("WARNING", logger="encord_provider.config.loader"):
        parse_pipelines(text, "p.yaml")
    assert [r.getMessage() for r in caplog.records] == [
        "p.yaml:3: projects[1].export: 'dogs' and 'cats' use the same export prefix 's3://my-warehouse/ml/labels'"
    ]


@pytest.mark.parametrize("prefix", ["../up", "a//b", "a/./b"])
def test_export_prefix_segments_are_checked(prefix: str) -> None:
    with pytest.raises(ValidationError, match="must not have empty, '.' or '..' segments"):
        ExportConfig.model_validate({"uri": "s3://bkt", "prefix": prefix})
