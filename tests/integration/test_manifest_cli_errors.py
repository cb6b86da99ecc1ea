"""`encord-manifest` failure paths: one line on stderr, exit status 2, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from encord_provider.manifests.cli import main

from tests.services import free_port


def fails(argv: list[str], capsys: pytest.CaptureFixture[str], expected: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("encord-manifest: error: ") and "\n" not in err and "Traceback" not in err, err
    assert expected in err, err
    return err


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An output folder that must never be created."""
    path = tmp_path / "never" / "out"
    yield path
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("s3://My Bucket!/x", "invalid s3:// bucket name 'My Bucket!'"),
        ("s3:///x", "storage URI has no bucket"),
        ("gs://goog-data/x", "must not start with 'goog'"),
        ("az://Bad_Container/x", "invalid az:// bucket name 'Bad_Container'"),
        ("ftp://host/x", "unsupported storage URI"),
    ],
)
def test_bad_uris_fail_before_any_request(
    source: str, expected: str, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fails([source, str(out)], capsys, expected)


def test_bad_output_uri(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails([f"file://{tmp_path}/", "s3://Out_Bucket/x"], capsys, "output s3://Out_Bucket/x: invalid s3://")


def test_missing_s3_bucket(s3_client: Any, out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = fails(["s3://no-such-bucket/raw/", str(out), "--conn-id", "aws_test"], capsys, "NoSuchBucket")
    assert "source s3://no-such-bucket/raw/" in err


def test_missing_output_bucket_writes_nothing(s3_client: Any, capsys: pytest.CaptureFixture[str]) -> None:
    s3_client.create_bucket(Bucket="cli-src")
    s3_client.put_object(Bucket="cli-src", Key="a.jpg", Body=b"x")
    err = fails(
        ["s3://cli-src/", "s3://cli-missing-out/run1", "--conn-id", "aws_test"], capsys, "NoSuchBucket"
    )
    assert "output s3://cli-missing-out/run1" in err
    assert [o["Key"] for o in s3_client.list_objects_v2(Bucket="cli-src")["Contents"]] == ["a.jpg"]


def test_unreachable_s3_endpoint(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    fails(
        ["s3://some-bucket/", str(out), "--endpoint-url", closed], capsys, "cannot reach the storage endpoint"
    )


def test_unreachable_gcs_endpoint_gives_up_at_the_timeout(
    gcs_endpoint: str, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # the Google client itself retries for 120 s
    argv = [
        "gs://some-bucket/",
        str(out),
        "--conn-id",
        "gcp_test",
        "--endpoint-url",
        closed,
        "--timeout",
        "2",
    ]
    fails(argv, capsys, "no answer within 2 s")


def test_no_google_credentials(
    out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    fails(["gs://some-bucket/", str(out)], capsys, "no Google credentials")


def test_missing_gcs_bucket(gcs_endpoint: str, out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails(["gs://no-such-bucket-x/", str(out), "--conn-id", "gcp_test"], capsys, "404")


def test_missing_azure_container(
    azurite_conn_str: str, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fails(["az://no-such-container/", str(out), "--conn-id", "wasb_test"], capsys, "ContainerNotFound")


def test_bad_azure_credentials(
    azurite_conn_str: str, out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_key = "d3Jvbmc=" * 11
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        azurite_conn_str.replace(azurite_conn_str.split("AccountKey=")[1].split(";")[0], wrong_key),
    )
    err = fails(
        ["az://any-container/", str(out)], capsys, "AuthorizationFailure: Server failed to authenticate"
    )
    assert wrong_key not in err


def test_unknown_connection(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails(["s3://some-bucket/", str(out), "--conn-id", "no_such_conn"], capsys, "no_such_conn")


def test_missing_local_source(tmp_path: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails([str(tmp_path / "absent") + "/", str(out)], capsys, "no such directory")


def test_failure_mid_build_removes_what_was_written(
    tmp_path: Path, out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from encord_provider.manifests.writer import LocalDirSink

    written: list[str] = []
    original = LocalDirSink.write
    monkeypatch.setattr(
        LocalDirSink, "write", lambda self, name, *a: written.append(name) or original(self, name, *a)
    )
    source = tmp_path / "src"
    source.mkdir()
    for number in range(1100):  # more than the chunker's batch, so chunks are written before the failure
        (source / f"a{number:04d}.jpg").write_bytes(b"x")
    (source / "z.jpg").symlink_to(tmp_path / "gone.jpg")  # listing fails when it reaches it
    fails([f"{source}/", str(out), "--max-entries", "1"], capsys, "No such file or directory")
    assert "chunk-00000.json" in written  # chunks were written before the failure, then removed


@pytest.mark.parametrize(
    ("source", "output"),
    [("s3://cli-src/raw/", "s3://cli-src/raw/manifests"), ("s3://cli-src/", "s3://cli-src/m"),
     ("{tmp}/src/", "{tmp}/src/out"), ("file://{tmp}/src/", "{tmp}/src")],
)  # fmt: skip
def test_output_inside_the_listed_source_is_refused(
    source: str, output: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "src").mkdir()
    argv = [source.format(tmp=tmp_path), output.format(tmp=tmp_path)]
    fails(argv, capsys, "its files would be listed")
    assert list((tmp_path / "src").iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [(["s3://some-bucket/", "--bucket-region", "EU West"], "is not a region name"),
     (["gs://some-bucket/", "--bucket-region", "eu-west-2"], "applies to s3:// sources only"),
     (["s3://some-bucket/", "--modified-since", "yesterday"], "Invalid isoformat string"),
     (["s3://some-bucket/", "--min-size", "10", "--max-size", "5"], "larger than max_size"),
     (["s3://some-bucket/", "--chunk-prefix", "../x"], "chunk_prefix")],
)  # fmt: skip
def test_bad_options_fail_before_any_request(
    argv: list[str], expected: str, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fails([argv[0], str(out), *argv[1:]], capsys, expected)
