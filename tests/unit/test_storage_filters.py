"""ListingFilter decisions, applied while a listing streams."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from encord_provider.storage.filters import FilterStats, ListingFilter, glob_to_regex
from encord_provider.storage.records import ObjectRecord

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def rec(key: str, size: int = 10, modified: datetime = T0) -> ObjectRecord:
    return ObjectRecord(url=f"https://x/{key}", key=key, size=size, etag="e", last_modified=modified)


def kept(listing_filter: ListingFilter, records: list[ObjectRecord]) -> list[str]:
    return [r.key for r in listing_filter.apply(records)]


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("*.jpg", "a/b/c.jpg", True),
        ("*.jpg", "a/b/c.jpeg", False),
        ("images/*.jpg", "images/c.jpg", True),
        ("images/*.jpg", "images/sub/c.jpg", False),
        ("images/**/*.jpg", "images/sub/deep/c.jpg", True),
        ("images/**/*.jpg", "images/c.jpg", True),
        ("**/raw/*", "x/y/raw/file.bin", True),
        ("img_??.png", "d/img_01.png", True),
        ("img_??.png", "d/img_001.png", False),
        ("img_[0-4].png", "img_3.png", True),
        ("img_[!0-4].png", "img_3.png", False),
        ("a+b (1).jpg", "dir/a+b (1).jpg", True),
    ],
)
def test_glob(pattern: str, key: str, matches: bool) -> None:
    assert bool(glob_to_regex(pattern).search(key)) is matches


def test_include_exclude_globs_and_regex() -> None:
    records = [rec("a/1.jpg"), rec("a/2.png"), rec("a/tmp/3.jpg"), rec("a/4.JPG"), rec("a/5.txt")]
    listing_filter = ListingFilter(
        include=("*.jpg", "*.png"), exclude=("**/tmp/**",), include_regex=(r"(?i)\.jpg$",)
    )
    assert kept(listing_filter, records) == ["a/1.jpg", "a/2.png", "a/4.JPG"]
    assert kept(ListingFilter(exclude_regex=(r"\d\.(png|txt)$",)), records) == [
        "a/1.jpg",
        "a/tmp/3.jpg",
        "a/4.JPG",
    ]


def test_size_bounds_are_inclusive() -> None:
    records = [rec("a", 5), rec("b", 10), rec("c", 20), rec("d", 21)]
    assert kept(ListingFilter(min_size=10, max_size=20), records) == ["b", "c"]


def test_watermark_with_safety_lag_and_upper_bound() -> None:
    records = [rec(f"k{m}", modified=T0 + timedelta(minutes=m)) for m in range(-10, 11, 5)]  # -10,-5,0,5,10
    watermark = ListingFilter(modified_since=T0, safety_lag=timedelta(minutes=5))
    assert watermark.lower_bound == T0 - timedelta(minutes=5)
    assert kept(watermark, records) == ["k-5", "k0", "k5", "k10"]
    bounded = ListingFilter(modified_since=T0, modified_before=T0 + timedelta(minutes=10))
    assert kept(bounded, records) == ["k0", "k5"]


def test_start_after_prefix_markers_and_sidecars() -> None:
    records = [
        rec("dt=2024-04-30/a.jpg"),
        rec("dt=2024-05-01/", size=0),
        rec("dt=2024-05-01/b.jpg"),
        rec("dt=2024-05-01/b.jpg.encord.json"),
        rec("dt=2024-05-02/c.jpg"),
        rec("other/d.jpg"),
    ]
    listing_filter = ListingFilter(
        prefix="dt=", start_after="dt=2024-04-30/~", sidecar_suffixes=(".encord.json",)
    )
    assert kept(listing_filter, records) == ["dt=2024-05-01/b.jpg", "dt=2024-05-02/c.jpg"]
    keep_markers = ListingFilter(prefix="dt=2024-05-01/", skip_directory_markers=False)
    assert kept(keep_markers, records) == [
        "dt=2024-05-01/",
        "dt=2024-05-01/b.jpg",
        "dt=2024-05-01/b.jpg.encord.json",
    ]


def test_stats_account_for_every_record() -> None:
    records = [rec("a.jpg", 5), rec("b.jpg", 50, T0 + timedelta(hours=1)), rec("c/", 0), rec("d.txt", 7)]
    stats = FilterStats()
    out = list(ListingFilter(include=("*.jpg",), min_size=6).apply(records, stats))
    assert [r.key for r in out] == ["b.jpg"]
    assert stats.seen == 4 and stats.kept == 1 and stats.kept_bytes == 50
    assert stats.skipped == {"too_small": 1, "directory_marker": 1, "not_included": 1}
    assert stats.max_last_modified == T0 + timedelta(hours=1)
    assert stats.as_dict()["max_last_modified"] == (T0 + timedelta(hours=1)).isoformat()


def test_apply_streams_without_reading_ahead() -> None:
    pulled: list[int] = []

    def endless() -> Iterator[ObjectRecord]:
        i = 0
        while True:
            pulled.append(i)
            yield rec(f"k{i:04d}.jpg")
            i += 1

    stream = ListingFilter(include=("*.jpg",)).apply(endless())
    assert [next(stream).key for _ in range(3)] == ["k0000.jpg", "k0001.jpg", "k0002.jpg"]
    assert pulled == [0, 1, 2]


def test_from_mapping_converts_and_validates() -> None:
    listing_filter = ListingFilter.from_mapping(
        {"include": "*.jpg", "safety_lag": 300, "modified_since": "2024-05-01T12:00:00+00:00"}
    )
    assert listing_filter.include == ("*.jpg",)
    assert listing_filter.safety_lag == timedelta(minutes=5)
    assert listing_filter.modified_since == T0
    with pytest.raises(ValueError, match="unknown listing filter option.*'includes'"):
        ListingFilter.from_mapping({"includes": ["*.jpg"]})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_size": 10, "max_size": 5}, "min_size 10 is larger than max_size 5"),
        ({"modified_since": datetime(2024, 1, 1)}, "modified_since must be timezone-aware"),
        ({"safety_lag": timedelta(seconds=-1)}, "safety_lag must not be negative"),
        ({"include_regex": ("(",)}, "invalid regular expression '\\('"),
    ],
)
def test_bad_options_are_rejected_clearly(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ListingFilter(**kwargs)  # type: ignore[arg-type]


def test_only_zero_byte_keys_ending_in_slash_are_directory_markers() -> None:
    records = [rec("a/", size=0), rec("b/", size=7), rec("b/c.jpg")]
    stats = FilterStats()
    assert [r.key for r in ListingFilter().apply(records, stats)] == ["b/", "b/c.jpg"]
    assert stats.skipped == {"directory_marker": 1}


def test_every_skip_reaches_the_hook_with_its_reason() -> None:
    from encord_provider.manifests.rejections import SkipReport

    records = [rec("a/", size=0), rec("a/x.JPG"), rec("a/y.png"), rec("a/z.jpg", size=1), rec("a/w.jpg")]
    report = SkipReport(max_per_reason=1)
    stats = FilterStats(on_skip=report.add)
    rules = ListingFilter(extensions=(".jpg",), min_size=5)
    kept_keys = [
        r.key
        for r in rules.apply(records, stats, more=lambda r: "max_objects" if r.key == "a/w.jpg" else None)
    ]
    assert kept_keys == ["a/x.JPG"]  # extensions compare case-insensitively
    assert dict(report.by_reason) == {"directory_marker": 1, "extension": 1, "too_small": 1, "max_objects": 1}
    assert stats.kept == 1 and stats.seen == 5 and stats.max_last_modified == T0
    lines = [line for line in report.rewound().read().decode().splitlines()]
    assert len(lines) == 4 and '"reason": "extension"' in lines[1] and "configured extensions" in lines[1]
    report.add(rec("b/", size=0), "directory_marker")
    assert report.truncated == {"directory_marker": 1} and report.count == 5
    report.close()
