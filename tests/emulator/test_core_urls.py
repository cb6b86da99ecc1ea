"""URL forms an integration accepts, and manifest normalisation (no server)."""

from __future__ import annotations

from typing import Any

import pytest
from encord_emulator.clouds.urls import ObjectLocation, UrlError, parse_object_url
from encord_emulator.services.storage.manifest import ManifestError, parse_upload_body, parse_upload_json
from encord_provider.storage import urls

AWS: dict[str, Any] = {
    "provider": "aws",
    "endpoint_url": "http://127.0.0.1:5000",
    "access_points": {"mfzwi23gnjvgw": "raw"},
}
OTC: dict[str, Any] = {"provider": "otc", "endpoint_url": "http://127.0.0.1:5000"}
GCP: dict[str, Any] = {"provider": "gcp", "endpoint_url": "http://127.0.0.1:4443"}
AZURE: dict[str, Any] = {"provider": "azure", "account_name": "devstoreaccount1",
                         "endpoint_url": "http://127.0.0.1:10000/devstoreaccount1"}  # fmt: skip


@pytest.mark.parametrize(
    ("integration", "url", "expected"),
    [
        (AWS, "s3://raw/a/b c.jpg", ObjectLocation("raw", "a/b c.jpg")),
        (AWS, "https://raw.s3.eu-west-1.amazonaws.com/a/b%20c.jpg", ObjectLocation("raw", "a/b c.jpg")),
        (AWS, "https://raw.s3.amazonaws.com/a/x.jpg", ObjectLocation("raw", "a/x.jpg")),
        (AWS, "https://my.bucket.s3-us-west-2.amazonaws.com/x.jpg", ObjectLocation("my.bucket", "x.jpg")),
        (AWS, "https://s3.us-east-1.amazonaws.com/raw/a/x.jpg", ObjectLocation("raw", "a/x.jpg")),
        (
            AWS,
            "https://mfzwi23gnjvgw.mrap.s3-accesspoint.amazonaws.com/k/x.jpg",
            ObjectLocation("raw", "k/x.jpg"),
        ),
        (
            AWS,
            "https://other.mrap.accesspoint.s3-global.amazonaws.com/x.jpg",
            ObjectLocation("other", "x.jpg"),
        ),
        (AWS, "http://127.0.0.1:5000/raw/a/x.jpg", ObjectLocation("raw", "a/x.jpg")),
        (
            AWS,
            "https://arn:aws:s3::123123123:accesspoint/mfzwi23gnjvgw.mrap.s3-accesspoint.amazonaws.com/k/x%20y.jpg",
            ObjectLocation("raw", "k/x y.jpg"),
        ),
        (
            AWS,
            "https://arn:aws:s3::123123123:accesspoint/frf28frarf9.mrap.s3-accesspoint.amazonaws.com/x.jpg",
            ObjectLocation("frf28frarf9", "x.jpg"),
        ),
        (AWS, "s3://raw/a#b?c=d.jpg", ObjectLocation("raw", "a#b?c=d.jpg")),
        (AWS, "s3://raw//abs/x.jpg", ObjectLocation("raw", "/abs/x.jpg")),
        (AWS, "https://raw.s3.eu-west-1.amazonaws.com//abs/x.jpg", ObjectLocation("raw", "/abs/x.jpg")),
        (AWS, "https://s3.us-east-1.amazonaws.com/raw//abs/x.jpg", ObjectLocation("raw", "/abs/x.jpg")),
        (OTC, "https://raw.obs.eu-de.otc.t-systems.com/a/x.jpg", ObjectLocation("raw", "a/x.jpg")),
        (OTC, "https://obs.eu-de.otc.t-systems.com/raw/a/x.jpg", ObjectLocation("raw", "a/x.jpg")),
        (OTC, "s3://raw/x.jpg", ObjectLocation("raw", "x.jpg")),
        (GCP, "gs://raw/a/x.jpg", ObjectLocation("raw", "a/x.jpg")),
        (GCP, "gs://raw/a#1?v=2 %20.jpg", ObjectLocation("raw", "a#1?v=2 %20.jpg")),
        (GCP, "gs://raw//x.jpg", ObjectLocation("raw", "/x.jpg")),
        (GCP, "https://storage.cloud.google.com/raw/a/x.jpg", ObjectLocation("raw", "a/x.jpg")),
        (GCP, "https://storage.googleapis.com/raw/a/x.jpg", ObjectLocation("raw", "a/x.jpg")),
        (
            AZURE,
            "https://devstoreaccount1.blob.core.windows.net/raw/a/x.jpg",
            ObjectLocation("raw", "a/x.jpg"),
        ),
        (AZURE, "http://127.0.0.1:10000/devstoreaccount1/raw/a/x.jpg", ObjectLocation("raw", "a/x.jpg")),
    ],
)
def test_accepted_url_forms(integration: dict[str, Any], url: str, expected: ObjectLocation) -> None:
    assert parse_object_url(url, integration) == expected


@pytest.mark.parametrize(
    ("integration", "url", "message"),
    [
        (AWS, "gs://raw/x.jpg", "cannot be read through a aws"),
        (GCP, "s3://raw/x.jpg", "cannot be read through a gcp"),
        (AZURE, "s3://raw/x.jpg", "cannot be read through a azure"),
        (AWS, "https://storage.googleapis.com/raw/x.jpg", "is not a aws object URL"),
        (AZURE, "https://otheraccount.blob.core.windows.net/raw/x.jpg", "not the integration's"),
        (AWS, "ftp://raw/x.jpg", "unsupported URL scheme"),
        (AWS, "s3://raw/", "names no bucket and key"),
        (AWS, "s3://raw/" + "k" * 17000, "longer than 16384 bytes"),
        (AWS, "s3://", "names no bucket and key"),
        (GCP, "https://arn:aws:s3::1:accesspoint/ap.mrap.s3-accesspoint.amazonaws.com/x", "through a gcp"),
        (AWS, "https://arn:aws:s3::1:accesspoint/ap.example.com/x.jpg", "malformed S3 Multi-Region"),
        (AWS, "https://arn:aws:s3::1:accesspoint/ap.mrap.s3-accesspoint.amazonaws.com/", "names no bucket"),
    ],
)
def test_rejected_urls(integration: dict[str, Any], url: str, message: str) -> None:
    with pytest.raises(UrlError, match=message):
        parse_object_url(url, integration)


ROUND_TRIP_KEYS = [
    "dir/with space.jpg",
    "plus+sign.jpg",
    "unicodé/日本語.png",
    "hash#frag.jpg",
    "query?x=1&y=2.jpg",
    "literal%20percent.jpg",
    "/leading/slash.jpg",
    "//two/leading.jpg",
]
MRAP_ARN = "arn:aws:s3::123123123:accesspoint/mfzwi23gnjvgw"
WRITERS: list[tuple[str, dict[str, Any], Any]] = [
    ("s3", AWS, lambda key: urls.s3_object_url("raw", key, "eu-west-1")),
    ("mrap-arn", AWS, lambda key: urls.mrap_object_url(MRAP_ARN, key)),
    ("mrap-alias", AWS, lambda key: urls.mrap_object_url("mfzwi23gnjvgw", key)),
    ("otc", OTC, lambda key: urls.otc_object_url("raw", key, "eu-de")),
    ("gcs-https", GCP, lambda key: urls.gcs_object_url("raw", key, "https")),
    ("gcs-gs", GCP, lambda key: urls.gcs_object_url("raw", key, "gs")),
    ("azure", AZURE, lambda key: urls.azure_object_url("devstoreaccount1", "raw", key)),
]


@pytest.mark.parametrize("key", ROUND_TRIP_KEYS)
@pytest.mark.parametrize(("integration", "writer"), [w[1:] for w in WRITERS], ids=[w[0] for w in WRITERS])
def test_manifest_writer_urls_parse_back_to_the_same_key(
    integration: dict[str, Any], writer: Any, key: str
) -> None:
    """Every URL our manifest writer emits resolves in the emulator to the object it was written for."""
    url = writer(key)
    assert parse_object_url(url, integration) == ObjectLocation("raw", key)
    assert urls.key_from_url(url) == key  # the provider's own parser agrees


def test_upload_json_units_cover_every_kind() -> None:
    units, flags = parse_upload_json({
        "videos": [{"objectUrl": "s3://b/v.mp4", "videoMetadata": {"fps": 25, "duration": 2}}],
        "audio": [{"objectUrl": "s3://b/a.wav"}],
        "pdfs": [{"objectUrl": "s3://b/d.pdf", "title": "doc"}],
        "text": [{"objectUrl": "s3://b/t.txt"}],
        "images": [{"objectUrl": "s3://b/i.jpg", "clientMetadata": {"k": 1}}],
        "image_groups": [{"title": "g", "createVideo": True, "objectUrl_1": "s3://b/2.jpg", "objectUrl_0": "s3://b/1.jpg"}],
        "dicom_series": [{"title": "s", "objectUrl_0": "s3://b/1.dcm"}],
        "nifti": [{"objectUrl": "s3://b/n.nii.gz"}],
        "skip_duplicate_urls": True,
    })  # fmt: skip
    assert flags == {"skip_duplicate_urls": True, "upsert_metadata": False}
    kinds = [(unit["item_type"], unit["title"]) for unit in units]
    assert kinds == [("video", "v.mp4"), ("audio", "a.wav"), ("pdf", "doc"), ("plainText", "t.txt"),
                     ("image", "i.jpg"), ("nifti", "n.nii.gz"), ("imageSequence", "g"), ("dicomSeries", "s")]  # fmt: skip
    assert [child["url"] for child in units[6]["urls"]] == ["s3://b/1.jpg", "s3://b/2.jpg"]
    assert units[0]["metadata"] == {"fps": 25, "duration": 2}
    assert all(unit["error"] is None for unit in units)


def test_entry_problems_become_unit_errors() -> None:
    units, _ = parse_upload_json({
        "images": [{"title": "no url"}, {"objectUrl": "s3://b/x.jpg", "title": "t" * 301}, "not an object"],
        "dicom_series": [{"objectUrl_0": "s3://b/1.dcm"}],
    })  # fmt: skip
    errors = [unit["error"] for unit in units]
    assert errors == ["entry has no objectUrl", "title is 301 characters; the limit is 300",
                      "entry must be an object", "DICOM series needs a title"]  # fmt: skip


def test_malformed_documents_are_rejected() -> None:
    with pytest.raises(ManifestError, match="unknown top-level keys"):
        parse_upload_json({"imagez": []})
    with pytest.raises(ManifestError, match="must be a list"):
        parse_upload_json({"images": {"objectUrl": "s3://b/x"}})
    with pytest.raises(ManifestError, match="names no files"):
        parse_upload_body({"integrationHash": "x"})


def test_structured_data_items_map_to_units() -> None:
    units, flags = parse_upload_body({"dataItems": {
        "images": [{"objectUrl": "s3://b/a.jpg", "title": "a.jpg", "clientMetadata": {}}],
        "imageGroups": [{"images": [{"url": "s3://b/1.jpg"}, {"url": "s3://b/2.jpg"}], "title": "g", "createVideo": False}],
        "dicomSeries": [{"dicomFiles": [{"url": "s3://b/1.dcm", "title": None}], "title": "s"}],
        "pdf": [{"objectUrl": "s3://b/d.pdf"}], "skipDuplicateUrls": True,
    }})  # fmt: skip
    assert flags["skip_duplicate_urls"] is True
    assert [(u["item_type"], len(u["urls"])) for u in units] == [
        ("pdf", 1),
        ("image", 1),
        ("imageGroup", 2),
        ("dicomSeries", 1),
    ]
