"""`encord-manifest` against the storage emulators: moto (S3), fake-gcs-server (GCS) and Azurite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from encord_provider.manifests.cli import main

OBJECTS = {
    "raw/cam1/f1.jpg": b"jpg1",
    "raw/cam1/f2.jpg": b"jpg2",
    "raw/cam1/f10.jpg": b"jpg10",
    "raw/cam1/f1.jpg.metadata.json": b'{"camera": 1}',
    "raw/videos/my clip.mp4": b"mp4",
    "raw/docs/report.pdf": b"%PDF-1.4",
    "raw/ct/s1/1.dcm": b"d1",
    "raw/ct/s1/2.dcm": b"d2",
    "raw/misc/unknown.xyz": b"?",
    "raw/misc/bad.txt": b"text",
    "raw/misc/bad.txt.metadata.json": b"{oops",
    "raw/tiny/empty.jpg": b"",
    "other/skip.jpg": b"no",
}


def check_outputs(out: Path) -> dict[str, Any]:
    summary = json.loads((out / "summary.json").read_text())
    manifest = json.loads((out / "chunk-00000.json").read_text())
    groups = {g["title"]: g for g in manifest["image_groups"]}
    assert groups["raw/cam1"]["clientMetadata"] == {"camera": 1}
    assert [groups["raw/cam1"][f"objectUrl_{i}"].rsplit("/", 1)[1] for i in range(3)] == [
        "f1.jpg",
        "f2.jpg",
        "f10.jpg",
    ]
    assert [s["title"] for s in manifest["dicom_series"]] == ["raw/ct/s1"]
    assert (
        manifest["videos"][0]["title"] == "raw/videos/my clip.mp4" and manifest["skip_duplicate_urls"] is True
    )
    rejections = [json.loads(line) for line in (out / "rejections.jsonl").read_text().splitlines()]
    assert {r["key"]: r["category"] for r in rejections} == {
        "raw/misc/unknown.xyz": "unsupported_type",
        "raw/misc/bad.txt": "bad_sidecar",
        "raw/misc/bad.txt.metadata.json": "sidecar",
    }
    index = [json.loads(line) for line in (out / "chunk-00000.objects.jsonl").read_text().splitlines()]
    keys = {o["key"] for line in index for o in line["objects"]} | {
        s for line in index for s in line["sidecars"]
    }
    skipped = [json.loads(line) for line in (out / "skipped.jsonl").read_text().splitlines()]
    assert [(s["key"], s["reason"], s["size"]) for s in skipped] == [("raw/tiny/empty.jpg", "too_small", 0)]
    assert summary["skipped_by_reason"] == {"too_small": 1} and summary["n_skipped"] == 1
    assert len(keys) + len(rejections) + len(skipped) == len(OBJECTS) - 1  # other/ is outside the prefix
    return summary


ARGS = ["--image-mode", "group", "--sidecars", "--min-size", "1", "--json"]


def test_cli_s3_with_conn_id(s3_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s3_client.create_bucket(Bucket="src")
    for key, data in OBJECTS.items():
        s3_client.put_object(Bucket="src", Key=key, Body=data)
    assert main(["s3://src/raw/", str(tmp_path / "out"), "--conn-id", "aws_test", *ARGS]) == 0
    out = capsys.readouterr().out  # connection lookups may log before the JSON document
    printed = json.loads(out[out.index("\n{\n") + 1 :] if not out.startswith("{") else out)
    assert printed["filtered_out"] == {"too_small": 1}
    summary = check_outputs(tmp_path / "out")
    assert summary["entries_by_type"] == {"image_group": 1, "video": 1, "pdf": 1, "dicom_series": 1}


def test_cli_writes_to_a_bucket(s3_client: Any, tmp_path: Path) -> None:
    s3_client.create_bucket(Bucket="src")
    s3_client.create_bucket(Bucket="staging")
    s3_client.put_object(Bucket="src", Key="a/1.jpg", Body=b"x")
    s3_client.put_object(Bucket="src", Key="a/2.mp4", Body=b"x")
    assert main(["s3://src/", "s3://staging/manifests/run1", "--conn-id", "aws_test", "--format", "csv"]) == 0
    listed = {o["Key"] for o in s3_client.list_objects_v2(Bucket="staging")["Contents"]}
    assert listed == {
        "manifests/run1/chunk-00000.csv",
        "manifests/run1/chunk-00000.objects.jsonl",
        "manifests/run1/rejections.jsonl",
        "manifests/run1/skipped.jsonl",
        "manifests/run1/summary.json",
    }
    csv_text = (
        s3_client.get_object(Bucket="staging", Key="manifests/run1/chunk-00000.csv")["Body"].read().decode()
    )
    assert csv_text.splitlines()[0] == "ObjectUrl,Video title"


def test_cli_gcs(gcs_client: Any, gcs_endpoint: str, tmp_path: Path) -> None:
    bucket = gcs_client.bucket("manifest-src")
    if not bucket.exists():
        bucket = gcs_client.create_bucket("manifest-src")
    for blob in bucket.list_blobs():
        blob.delete()
    for key, data in OBJECTS.items():
        bucket.blob(key).upload_from_string(data)
    assert main(["gs://manifest-src/raw/", str(tmp_path / "out"), "--conn-id", "gcp_test", *ARGS]) == 0
    check_outputs(tmp_path / "out")


def test_cli_azure(blob_service: Any, tmp_path: Path) -> None:
    container = blob_service.get_container_client("manifest-src")
    if not container.exists():
        container.create_container()
    for blob in container.list_blobs():
        container.delete_blob(blob.name)
    for key, data in OBJECTS.items():
        container.upload_blob(key, data, overwrite=True)
    assert main(["az://manifest-src/raw/", str(tmp_path / "out"), "--conn-id", "wasb_test", *ARGS]) == 0
    check_outputs(tmp_path / "out")


def test_console_script_with_endpoint_and_env_credentials(
    s3_client: Any, moto_endpoint: str, tmp_path: Path
) -> None:
    s3_client.create_bucket(Bucket="src")
    s3_client.put_object(Bucket="src", Key="x/a.png", Body=b"x")
    s3_client.put_object(Bucket="src", Key="x/b.bin", Body=b"x")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    script = Path(sys.executable).with_name("encord-manifest")
    done = subprocess.run(
        [str(script), "s3://src/", str(tmp_path / "out"), "--endpoint-url", moto_endpoint, "--fail-on-rejections"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # done, but with rejections
    assert "rejected: 1" in done.stdout
    assert json.loads((tmp_path / "out" / "chunk-00000.json").read_text())["images"][0]["title"] == "x/a.png"


def test_cli_reports_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([f"file://{tmp_path}/", str(tmp_path / "o"), "--per-type", "hologram=3"]) == 2
    assert "unknown Encord data type 'hologram'" in capsys.readouterr().err
    assert main([f"file://{tmp_path}/", str(tmp_path / "o"), "--max-entries", "20000"]) == 2
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--sequence-overflow" in capsys.readouterr().out


def test_cli_urls_name_the_bucket_region(s3_client: Any, moto_endpoint: str, tmp_path: Path) -> None:
    s3_client.create_bucket(Bucket="west2", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    s3_client.put_object(Bucket="west2", Key="p/a.png", Body=b"x")
    base = ["s3://west2/p/", "--endpoint-url", moto_endpoint]  # the environment says us-east-1
    assert main([base[0], str(tmp_path / "looked-up"), *base[1:]]) == 0
    manifest = json.loads((tmp_path / "looked-up" / "chunk-00000.json").read_text())
    assert manifest["images"][0]["objectUrl"] == "https://west2.s3.eu-west-2.amazonaws.com/p/a.png"
    assert main([base[0], str(tmp_path / "given"), *base[1:], "--bucket-region", "us-west-1"]) == 0
    manifest = json.loads((tmp_path / "given" / "chunk-00000.json").read_text())
    assert manifest["images"][0]["objectUrl"] == "https://west2.s3.us-west-1.amazonaws.com/p/a.png"


@pytest.mark.parametrize("cloud", ["s3", "azure"])
def test_keys_ending_in_slash(cloud: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """A zero-byte `a/` is a folder marker (skipped, listed in skipped.jsonl); a non-empty one is an object."""
    objects = {"m/empty/": b"", "m/full/": b"not a marker", "m/full/x.jpg": b"x"}
    if cloud == "s3":
        client = request.getfixturevalue("s3_client")
        client.create_bucket(Bucket="slashes")
        for key, data in objects.items():
            client.put_object(Bucket="slashes", Key=key, Body=data)
        argv = ["s3://slashes/m/", str(tmp_path / "out"), "--conn-id", "aws_test"]
    else:
        container = request.getfixturevalue("blob_service").get_container_client("slashes")
        if container.exists():
            container.delete_container()
        container.create_container()
        for key, data in objects.items():
            container.upload_blob(key, data)
        argv = ["az://slashes/m/", str(tmp_path / "out"), "--conn-id", "wasb_test"]
    assert main(argv) == 0
    out = tmp_path / "out"
    skipped = [json.loads(line) for line in (out / "skipped.jsonl").read_text().splitlines()]
    assert [(s["key"], s["reason"]) for s in skipped] == [("m/empty/", "directory_marker")]
    [rejected] = [json.loads(line) for line in (out / "rejections.jsonl").read_text().splitlines()]
    assert rejected["key"] == "m/full/" and "ends in '/'" in rejected["reason"]
    assert json.loads((out / "summary.json").read_text())["n_registered_objects"] == 1
