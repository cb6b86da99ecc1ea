"""Object URLs in Encord's documented forms, and their round trip back to keys."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from encord_provider.storage.errors import UnsupportedUriError
from encord_provider.storage.urls import (
    ObjectLocation,
    azure_object_url,
    gcs_object_url,
    key_from_url,
    mrap_object_url,
    otc_object_url,
    parse_object_url,
    quote_key,
    s3_object_url,
    url_key_problem,
)
from hypothesis import given
from hypothesis import strategies as st

MRAP_ARN = "arn:aws:s3::123123123:accesspoint/frf28frarf9"


def test_guide_forms_are_reproduced_exactly() -> None:
    assert (
        s3_object_url("encord-integration", "images/Image1.png", "eu-west-2")
        == "https://encord-integration.s3.eu-west-2.amazonaws.com/images/Image1.png"
    )
    assert (
        gcs_object_url("encord-image-bucket", "videos/Cooking.mp4")
        == "https://storage.cloud.google.com/encord-image-bucket/videos/Cooking.mp4"
    )
    assert (
        azure_object_url("myaccount", "encordcontainer", "Image1.png")
        == "https://myaccount.blob.core.windows.net/encordcontainer/Image1.png"
    )
    assert (
        otc_object_url("encord-bucket", "images/Image1.png", "eu-de")
        == "https://encord-bucket.obs.eu-de.otc.t-systems.com/images/Image1.png"
    )
    assert (
        mrap_object_url(MRAP_ARN, "Videos/2022/video_1.mp4")
        == f"https://{MRAP_ARN}.mrap.s3-accesspoint.amazonaws.com/Videos/2022/video_1.mp4"
    )


def test_space_plus_and_unicode_are_percent_encoded() -> None:
    url = s3_object_url("b", "images/1 (32)+x/Ünï cødé.jpg", "eu-west-2")
    assert (
        url
        == "https://b.s3.eu-west-2.amazonaws.com/images/1%20%2832%29%2Bx/%C3%9Cn%C3%AF%20c%C3%B8d%C3%A9.jpg"
    )
    assert " " not in url and "+" not in url
    assert key_from_url(url) == "images/1 (32)+x/Ünï cødé.jpg"


def test_query_and_fragment_characters_in_keys_are_encoded() -> None:
    url = azure_object_url("acct", "c", "a?b#c%d")
    assert url.endswith("/c/a%3Fb%23c%25d")
    assert key_from_url(url) == "a?b#c%d"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://encord-integration.s3.eu-west-2.amazonaws.com/images/x.dcm",
            ObjectLocation("aws", "encord-integration", "images/x.dcm", region="eu-west-2"),
        ),
        ("https://my.bucket.s3.amazonaws.com/k", ObjectLocation("aws", "my.bucket", "k", region="us-east-1")),
        (
            "https://encord-bucket.obs.eu-de.otc.t-systems.com/images/a.png",
            ObjectLocation("otc", "encord-bucket", "images/a.png", region="eu-de"),
        ),
        ("https://storage.cloud.google.com/bkt/a/b.png", ObjectLocation("gcp", "bkt", "a/b.png")),
        ("https://storage.googleapis.com/bkt/a%20b.png", ObjectLocation("gcp", "bkt", "a b.png")),
        ("gs://bkt/a b%20.png", ObjectLocation("gcp", "bkt", "a b%20.png")),
        (
            "https://acct.blob.core.windows.net/cont/d/e.jpg",
            ObjectLocation("azure", "cont", "d/e.jpg", account="acct"),
        ),
        (
            f"https://{MRAP_ARN}.mrap.s3-accesspoint.amazonaws.com/V/1.mp4",
            ObjectLocation("mrap", MRAP_ARN, "V/1.mp4"),
        ),
        (
            "https://mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com/k",
            ObjectLocation("mrap", "mfzwi23gnjvgw", "k"),
        ),
        (
            "https://frf28frarf9.mrap.s3-accesspoint.amazonaws.com/k",
            ObjectLocation("mrap", "frf28frarf9", "k"),
        ),
    ],
)
def test_parse_object_url(url: str, expected: ObjectLocation) -> None:
    assert parse_object_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://b.s3.eu-west-2.amazonaws.com/k",
        "https://example.com/b/k",
        "https://b.s3.eu-west-2.amazonaws.com/",
        "https://b.s3.eu-west-2.amazonaws.com/k?versionId=1",
        "s3://b/k",
        "gs://bucket-only",
    ],
)
def test_unsupported_urls_name_the_url(url: str) -> None:
    with pytest.raises(UnsupportedUriError, match="object URL"):
        parse_object_url(url)


keys = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=300)  # no lone surrogates


@given(key=keys)
def test_every_https_form_round_trips(key: str) -> None:
    urls = [
        s3_object_url("bucket-1", key, "eu-west-2"),
        otc_object_url("bucket-1", key, "eu-de"),
        gcs_object_url("bucket-1", key),
        azure_object_url("account1", "container-1", key),
        mrap_object_url(MRAP_ARN, key),
    ]
    for url in urls:
        assert not any(c.isspace() for c in url)
        assert "+" not in url
        assert key_from_url(url) == key


@given(key=keys)
def test_gs_form_keeps_key_verbatim(key: str) -> None:
    assert key_from_url(gcs_object_url("bkt", key, style="gs")) == key


def _as_sent(url: str) -> str:
    """The URL requests (and urllib3 under it) would put on the wire: RFC 3986 normalised."""
    import requests
    from urllib3.util import parse_url

    prepared = requests.Request("GET", url).prepare().url
    assert prepared is not None
    return str(parse_url(prepared).url)


def _https_forms(key: str) -> list[str]:
    return [
        s3_object_url("bucket-1", key, "eu-west-2"),
        otc_object_url("bucket-1", key, "eu-de"),
        gcs_object_url("bucket-1", key),
        azure_object_url("account1", "container-1", key),
        f"https://frf28frarf9.mrap.s3-accesspoint.amazonaws.com/{quote_key(key)}",
    ]


hostile = st.text(
    st.one_of(
        st.sampled_from(list("./%?#\\+ ~;=&:@!*'()[]\x00\n\t\x7f")), st.characters(exclude_categories=["Cs"])
    ),
    min_size=1,
    max_size=40,
)


@given(key=hostile)
def test_an_accepted_key_survives_rfc3986_normalisation_in_every_form(key: str) -> None:
    for url in _https_forms(key):
        if url_key_problem(key, url) is None:
            assert key_from_url(_as_sent(url)) == key, url
    gs_url = gcs_object_url("bkt", key, style="gs")
    if url_key_problem(key, gs_url) is None:
        parts = urlsplit(gs_url)
        assert (parts.netloc, unquote(parts.path) == parts.path, parts.query, parts.fragment) == (
            "bkt",
            True,
            "",
            "",
        )
        assert parts.path == "/" + key


@pytest.mark.parametrize("key", ["a/../b.jpg", "./b.jpg", "../b.jpg", "a/./b.jpg", "a/..", "a/.", ".", ".."])
def test_dot_segment_keys_are_refused_in_every_form(key: str) -> None:
    for url in [*_https_forms(key), gcs_object_url("bkt", key, style="gs")]:
        assert "'.' or '..' path segment" in (url_key_problem(key, url) or "")
    moved = [url for url in _https_forms(key) if _safe_key(_as_sent(url)) != key]
    assert moved, "the normalised URL names another object: the reason for refusing"


def _safe_key(url: str) -> str | None:
    try:
        return key_from_url(url)
    except UnsupportedUriError:
        return None


@pytest.mark.parametrize(
    "key", ["a..b/c.jpg", "..jpg", "a/...", "a/.hidden", "a//b.jpg", "/lead.jpg", "x/%2E%2E/y"]
)
def test_dots_that_are_not_segments_and_empty_segments_are_kept(key: str) -> None:
    for url in _https_forms(key):
        assert url_key_problem(key, url) is None
        assert key_from_url(_as_sent(url)) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [("a?b.jpg", "query or fragment"), ("a#b.jpg", "query or fragment"), ("a%41.jpg", "%XX"),
     ("a\nb.jpg", "control characters")],
)  # fmt: skip
def test_gs_uris_refuse_what_a_uri_parser_would_change(key: str, reason: str) -> None:
    assert reason in (url_key_problem(key, gcs_object_url("bkt", key, style="gs")) or "")
    assert url_key_problem(key, gcs_object_url("bkt", key)) is None  # the https form encodes them
