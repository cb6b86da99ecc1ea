"""Pipelines file validation: good files parse, bad ones name the file, field path and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from encord_provider.config import PipelinesConfigError, load_pipelines, parse_pipelines
from encord_provider.config.ingest import DEFAULT_SCHEDULE

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """
pipelines:
  - name: demo
    source: {cloud: s3, bucket: media, prefix: /incoming/}
    integration: {title: demo-aws}
    folder: {name: Demo folder}
    datasets: [Demo dataset, {title: Other, attach_to_projects: [p1]}]
    staging: {uri: "s3://staging/encord/"}
"""


def test_minimal_pipeline_gets_defaults() -> None:
    pipeline = parse_pipelines(MINIMAL).pipelines[0]
    assert pipeline.dag_id == "encord_ingest__demo"
    assert pipeline.schedule == DEFAULT_SCHEDULE
    assert pipeline.source.prefix == "incoming/" and pipeline.source.bucket_url == "s3://media"
    assert [d.title for d in pipeline.datasets] == ["Demo dataset", "Other"]
    assert pipeline.datasets[1].attach_to_projects == ["p1"]
    assert pipeline.staging.bucket == "staging" and pipeline.staging.base_path == "encord"
    assert pipeline.trigger.mode == "schedule" and pipeline.encord_conn_id == "encord_default"
    assert pipeline.chunking.per_type["video"] == 100
    assert pipeline.asset_uri == "encord://demo/ingested"


def test_shipped_pipelines_file_is_valid() -> None:
    parsed = load_pipelines(ROOT / "include" / "pipelines.yaml")
    assert parsed.pipelines, "include/pipelines.yaml defines no ingest pipeline"


def _error(text: str) -> str:
    with pytest.raises(PipelinesConfigError) as info:
        parse_pipelines(text, "include/pipelines.yaml")
    return str(info.value)


def test_missing_field_names_file_path_and_line() -> None:
    text = MINIMAL.replace("bucket: media, ", "")
    assert "include/pipelines.yaml:4: pipelines[0].source.bucket: Field required" in _error(text)


def test_unknown_key_is_rejected() -> None:
    assert "pipelines[0].folder.nmae: Extra inputs are not permitted" in _error(
        MINIMAL.replace("{name: Demo folder}", "{nmae: Demo folder}")
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "cloud: s3",
            "cloud: dropbox",
            "pipelines[0].source.cloud: Input should be 's3', 'gcs', 'azure' or 'local'",
        ),
        ("bucket: media", "bucket: s3://media", "must be a bare bucket name"),
        ("{title: demo-aws}", "{title: a, uuid: b}", "pipelines[0].integration: give exactly one"),
        (
            '"s3://staging/encord/"',
            '"ftp://x"',
            "pipelines[0].staging.uri: staging uri 'ftp://x' must look like",
        ),
        ("name: demo", "name: 'bad name!'", "pipelines[0].name: String should match pattern"),
    ],
)
def test_bad_values_are_explained(old: str, new: str, expected: str) -> None:
    assert expected in _error(MINIMAL.replace(old, new))


def test_s3_events_need_queue_and_s3_source() -> None:
    text = MINIMAL + "    trigger: {mode: s3_events}\n"
    assert "pipelines[0].trigger: mode 's3_events' needs 'sqs_queue_url'" in _error(text)
    gcs = (
        MINIMAL.replace("cloud: s3", "cloud: gcs")
        + "    trigger: {mode: s3_events, sqs_queue_url: http://q}\n"
    )
    assert "pipelines[0]: trigger mode 's3_events' needs an s3 source, not 'gcs'" in _error(gcs)


def test_duplicate_pipeline_names() -> None:
    body = MINIMAL.split("pipelines:\n", 1)[1]
    assert "pipelines: duplicate names ['demo']" in _error("pipelines:\n" + body + body)


def test_several_problems_are_all_listed() -> None:
    message = _error(MINIMAL.replace("bucket: media, ", "").replace("{name: Demo folder}", "{}"))
    assert "source.bucket" in message and "folder.name" in message


def test_not_yaml_and_wrong_top_level() -> None:
    assert "not valid YAML" in _error("pipelines: [\n")
    assert "top level must be a mapping" in _error("- a\n- b\n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PipelinesConfigError, match="nope.yaml: cannot read"):
        load_pipelines(tmp_path / "nope.yaml")


def test_env_var_selects_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(MINIMAL.replace("name: demo", "name: from_env"))
    monkeypatch.setenv("ENCORD_PIPELINES_FILE", str(path))
    assert load_pipelines().pipelines[0].name == "from_env"


def test_empty_file_means_no_pipelines() -> None:
    parsed = parse_pipelines("")
    assert parsed.pipelines == [] and parsed.projects == []


@pytest.mark.parametrize("schedule", ["0 2 * * *", "@daily", "*/15 * * * 1-5"])
def test_cron_schedules_and_presets_are_accepted(schedule: str) -> None:
    text = MINIMAL + f'    schedule: "{schedule}"\n'
    assert parse_pipelines(text).pipelines[0].schedule == schedule


def test_bad_cron_names_the_field_at_parse_time() -> None:
    message = _error(MINIMAL + '    schedule: "0 25 * * *"\n')
    assert "pipelines[0].schedule" in message and "'0 25 * * *' is neither a cron expression" in message


def test_bucket_region_is_checked_and_s3_only() -> None:
    text = MINIMAL.replace("prefix: /incoming/}", "prefix: /incoming/, bucket_region: eu-west-2}")
    assert parse_pipelines(text).pipelines[0].source.bucket_region == "eu-west-2"
    assert "source.bucket_region: String should match pattern" in _error(
        MINIMAL.replace("prefix: /incoming/}", "prefix: /incoming/, bucket_region: EU West}")
    )
    assert "bucket_region applies to s3 sources only" in _error(
        MINIMAL.replace("cloud: s3", "cloud: gcs").replace("prefix: /incoming/}", "bucket_region: eu-west-2}")
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("bucket: media", "bucket: 'My Bucket!'", ":4: pipelines[0].source: bucket: invalid s3:// bucket name 'My Bucket!'"),
        ("cloud: s3, bucket: media", "cloud: azure, bucket: my_container", "invalid az:// bucket name 'my_container'"),
        ("cloud: s3, bucket: media", "cloud: gcs, bucket: google-media", "must not start with 'goog' or contain 'google'"),
        ('"s3://staging/encord/"', '"s3:///x"', ":8: pipelines[0].staging.uri: staging uri 's3:///x' must look like"),
        ('"s3://staging/encord/"', '"s3://Staging/encord"', "invalid s3:// bucket name 'Staging'"),
        ('"s3://staging/encord/"', '"s3://staging/a//b"', "must not have empty, '.' or '..' segments"),
        ('"s3://staging/encord/"', '"gs://staging/../b"', "must not have empty, '.' or '..' segments"),
        ("prefix: /incoming/}", "prefix: /incoming/, conn_id: 'aws default'}", "is not an Airflow connection id"),
        ("prefix: /incoming/}", "prefix: /incoming/, endpoint_url: 'localhost:9000'}", "must be an http:// or https:// URL"),
        ("prefix: /incoming/}", "prefix: /incoming/, endpoint_url: 'http://h:99999'}", "is not a valid URL: Port out of range"),
        ("folder: {name: Demo folder}", "folder: {name: F}\n    encord_conn_id: 'x y'", "encord_conn_id: 'x y' is not an Airflow"),
        ("folder: {name: Demo folder}", "folder: {name: F}\n    chunking: {group_regex: '(unclosed'}", "chunking.group_regex: invalid regular expression"),
    ],
)  # fmt: skip
def test_values_checked_at_parse_time_name_file_and_line(old: str, new: str, expected: str) -> None:
    text = MINIMAL.replace(old, new)
    assert text != MINIMAL
    assert expected in _error(text)


def test_queue_url_is_checked() -> None:
    text = MINIMAL + "    trigger: {mode: s3_events, sqs_queue_url: 'not a url'}\n"
    assert "trigger.sqs_queue_url: 'not a url' must be an http:// or https:// URL" in _error(text)


def test_pipelines_sharing_a_folder_staging_or_source_get_warnings(caplog: pytest.LogCaptureFixture) -> None:
    body = MINIMAL.split("pipelines:\n", 1)[1]
    second = body.replace("name: demo", "name: other").replace(
        '"s3://staging/encord/"', '"s3://staging/encord/sub"'
    )
    third = (
        body.replace("name: demo", "name: third")
        .replace("Demo folder", "Own folder")
        .replace("bucket: media, prefix: /incoming/", "bucket: media2")
        .replace('"s3://staging/encord/"', '"s3://staging/third"')
    )
    with caplog.at_level("WARNING", logger="encord_provider.config.loader"):
        parse_pipelines("pipelines:\n" + body + second + third, "include/pipelines.yaml")
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        "include/pipelines.yaml:11: pipelines[1].folder: 'other' and 'demo' use the same Encord folder 'Demo folder'",
        "include/pipelines.yaml:13: pipelines[1].staging: 'other' and 'demo' use an overlapping staging prefix "
        "'s3://staging/encord/sub'",
        "include/pipelines.yaml:9: pipelines[1].source: 'other' and 'demo' use the same source prefix "
        "'s3://media/incoming'",
    ]


def test_empty_file_logs_that_it_defines_no_dag(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="encord_provider.config.loader"):
        parse_pipelines("# nothing yet\n", "include/pipelines.yaml")
        parse_pipelines("pipelines: []\nprojects: []\n", "other.yaml")
    assert [r.getMessage() for r in caplog.records] == [
        "include/pipelines.yaml: defines no pipelines and no projects, so no Encord DAG is created",
        "other.yaml: defines no pipelines and no projects, so no Encord DAG is created",
    ]


@pytest.mark.parametrize(
    ("staging", "fails"),
    [('"s3://media/incoming/encord"', True), ('"s3://media/encord"', False), ('"s3://media2/incoming"', False),
     ('"gs://media/incoming"', False)],
)  # fmt: skip
def test_staging_inside_the_source_prefix_is_refused(staging: str, fails: bool) -> None:
    text = MINIMAL.replace('"s3://staging/encord/"', staging)
    if fails:
        assert ":8: pipelines[0].staging.uri: staging of 'demo'" in _error(text)
        assert "is inside the source prefix of pipeline 'demo'" in _error(text)
    else:
        parse_pipelines(text)


def test_export_inside_an_ingest_source_is_refused() -> None:
    text = (
        MINIMAL
        + "projects:\n  - {name: cats, project_hash: p, export: {uri: 's3://media/incoming', prefix: labels}}\n"
    )
    assert (
        "projects[0].export.uri: export of 'cats' (s3://media/incoming/labels) is inside the source"
        in _error(text)
    )
