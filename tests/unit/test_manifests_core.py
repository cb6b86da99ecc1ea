"""Classification, titles, ordering and grouping of the manifest builder."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from encord_provider.manifests import (
    BuildSummary,
    DataType,
    ImageMode,
    LocalDirSink,
    ManifestConfig,
    TypeMap,
    build_manifests,
)
from encord_provider.manifests.datatypes import extension_of, parse_data_type
from encord_provider.manifests.grouping import natural_key
from encord_provider.manifests.ordering import UnorderedInputError, spill_sorted
from encord_provider.manifests.titles import MAX_TITLE_CHARS, TitleRegistry, fit_title, title_for_key
from encord_provider.storage.records import ObjectRecord

STAMP = datetime(2024, 5, 1, tzinfo=UTC)


def rec(key: str, size: int = 100, etag: str = "etag") -> ObjectRecord:
    return ObjectRecord(
        url=f"https://bkt.s3.eu-west-1.amazonaws.com/{key}",
        key=key,
        size=size,
        etag=etag,
        last_modified=STAMP,
    )


def recs(keys: Iterable[str], size: int = 100) -> list[ObjectRecord]:
    return [rec(key, size) for key in sorted(keys)]


def build(tmp_path: Path, keys: Iterable[str] | list[ObjectRecord], **options: Any) -> BuildSummary:
    records = [k if isinstance(k, ObjectRecord) else rec(k) for k in keys]
    records.sort(key=lambda r: r.key)
    store = options.pop("store", None)
    return build_manifests(records, ManifestConfig(**options), LocalDirSink(tmp_path), store=store)


def read_json_chunks(tmp_path: Path, summary: BuildSummary) -> list[dict[str, Any]]:
    return [json.loads(Path(chunk.uri.removeprefix("file://")).read_text()) for chunk in summary.chunks]


def read_index(summary: BuildSummary) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for chunk in summary.chunks:
        text = Path(chunk.objects_uri.removeprefix("file://")).read_text()
        lines.extend(json.loads(line) for line in text.splitlines())
    return lines


def read_rejections(summary: BuildSummary) -> list[dict[str, Any]]:
    text = Path(summary.rejections_uri.removeprefix("file://")).read_text()
    return [json.loads(line) for line in text.splitlines()]


# -- datatypes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("a/b.JPG", DataType.IMAGE),
        ("x.jpeg", DataType.IMAGE),
        ("x.png", DataType.IMAGE),
        ("x.webp", DataType.IMAGE),
        ("x.tiff", DataType.IMAGE),
        ("x.bmp", DataType.IMAGE),
        ("v/clip.mp4", DataType.VIDEO),
        ("v/clip.MOV", DataType.VIDEO),
        ("v/clip.mkv", DataType.VIDEO),
        ("v/clip.webm", DataType.VIDEO),
        ("s.mp3", DataType.AUDIO),
        ("s.wav", DataType.AUDIO),
        ("s.flac", DataType.AUDIO),
        ("d.pdf", DataType.PDF),
        ("t.txt", DataType.TEXT),
        ("t.md", DataType.TEXT),
        ("t.json", DataType.TEXT),
        ("t.html", DataType.TEXT),
        ("t.csv", DataType.TEXT),
        ("scan/1.dcm", DataType.DICOM_SERIES),
        ("brain.nii", DataType.NIFTI),
        ("brain.nii.gz", DataType.NIFTI),
    ],
)
def test_default_type_map(key: str, kind: DataType) -> None:
    assert TypeMap().classify(key) is kind


def test_unknown_and_extensionless_types_give_reasons() -> None:
    type_map = TypeMap(extensionless_dicom_prefixes=("pacs/",))
    assert "'.xyz'" in str(type_map.classify("a/b.xyz"))
    assert "no file extension" in str(type_map.classify("a/README"))
    assert "no file extension" in str(type_map.classify("a/.hidden"))
    assert type_map.classify("pacs/study1/IM0001") is DataType.DICOM_SERIES
    assert not isinstance(type_map.classify("a/archive.gz"), DataType)


def test_type_map_overrides_and_mime_fallback() -> None:
    type_map = TypeMap(
        extensions={"json": None, ".raw": DataType.IMAGE}, mime_types={"audio/*": DataType.AUDIO}
    )
    assert "excluded" in str(type_map.classify("a.json"))
    assert type_map.classify("a.RAW") is DataType.IMAGE
    assert type_map.classify("song.aif") is DataType.AUDIO  # audio/x-aiff via mimetypes
    with pytest.raises(ValueError, match="per-file kind"):
        TypeMap(extensions={".x": DataType.IMAGE_GROUP})


def test_extension_and_type_names() -> None:
    assert extension_of("a.b/c") == ""
    assert extension_of("dir/x.Nii.GZ") == ".nii.gz"
    assert parse_data_type("dicom") is DataType.DICOM_SERIES
    with pytest.raises(ValueError, match="unknown Encord data type"):
        parse_data_type("hologram")


# -- titles -----------------------------------------------------------------------------------------


def test_long_titles_are_shortened_deterministically_with_hash_and_extension() -> None:
    key = "deep/" + "x" * 400 + ".png"
    title = title_for_key(key)
    assert len(title) == MAX_TITLE_CHARS
    assert title.endswith(".png") and title == title_for_key(key)
    other = title_for_key("deep/" + "x" * 401 + ".png")
    assert other != title
    assert fit_title("short") == "short"


def test_title_registry_makes_clashes_unique() -> None:
    registry = TitleRegistry()
    assert registry.claim("a", "k1") == "a"
    second = registry.claim("a", "k2")
    third = registry.claim("a", "k2")
    assert len({"a", second, third}) == 3
    long = "y" * 300
    assert registry.claim(long, "k") == long
    assert len(registry.claim(long, "k2")) <= MAX_TITLE_CHARS


def test_titles_unique_within_manifest_and_within_limit(tmp_path: Path) -> None:
    keys = [f"p/{'z' * 310}{i}.jpg" for i in range(20)] + ["p/a b+c/ü.jpg", "p/a b+c/ü.png"]
    summary = build(tmp_path, keys)
    titles = [line["title"] for line in read_index(summary)]
    assert len(titles) == len(set(titles)) == 22
    assert all(len(t) <= MAX_TITLE_CHARS for t in titles)


# -- ordering ---------------------------------------------------------------------------------------


def test_unsorted_input_fails_loudly_or_is_spilled(tmp_path: Path) -> None:
    records = [rec("b.jpg"), rec("a.jpg")]
    with pytest.raises(UnorderedInputError, match="'a.jpg' after 'b.jpg'"):
        build_manifests(records, ManifestConfig(), LocalDirSink(tmp_path))
    summary = build_manifests(records, ManifestConfig(input_order="any"), LocalDirSink(tmp_path / "2"))
    assert summary.n_registered_objects == 2 and summary.n_input == 2
    assert [r.key for r in spill_sorted([rec("é"), rec("z"), rec("a/b")])] == ["a/b", "z", "é"]


# -- grouping ---------------------------------------------------------------------------------------


def test_natural_sort() -> None:
    names = ["f10.png", "f2.png", "f1.png", "f02b.png"]
    assert sorted(names, key=natural_key) == ["f1.png", "f2.png", "f02b.png", "f10.png"]


def test_image_groups_by_folder_nested_and_root(tmp_path: Path) -> None:
    keys = ["a/1.jpg", "a/b/1.jpg", "a/b/2.jpg", "a/c.jpg", "a/10.jpg", "a/2.jpg", "root.jpg", "v.mp4"]
    summary = build(tmp_path, keys, image_mode=ImageMode.GROUP)
    index = {line["title"]: line for line in read_index(summary)}
    assert [o["key"] for o in index["a"]["objects"]] == ["a/1.jpg", "a/2.jpg", "a/10.jpg", "a/c.jpg"]
    assert [o["key"] for o in index["a/b"]["objects"]] == ["a/b/1.jpg", "a/b/2.jpg"]
    assert [o["key"] for o in index["_root"]["objects"]] == ["root.jpg"]
    manifest = read_json_chunks(tmp_path, summary)[0]
    group_a = next(g for g in manifest["image_groups"] if g["title"] == "a")
    assert group_a["createVideo"] is False
    assert group_a["objectUrl_2"].endswith("a/10.jpg") and "objectUrl_4" not in group_a
    assert manifest["videos"][0]["title"] == "v.mp4"


def test_image_sequences_and_regex_groups(tmp_path: Path) -> None:
    keys = [f"cams/cam{c}_frame{i}.jpg" for c in (1, 2) for i in range(3)]
    summary = build(tmp_path, keys, image_mode="sequence", group_regex=r"cams/(?P<group>cam\d+)_")
    manifest = read_json_chunks(tmp_path, summary)[0]
    sequences = {g["title"]: g for g in manifest["image_groups"]}
    assert set(sequences) == {"cam1", "cam2"}
    assert all(g["createVideo"] is True for g in sequences.values())
    assert sequences["cam2"]["objectUrl_2"].endswith("cam2_frame2.jpg")


def test_dicom_series_per_folder_and_extensionless(tmp_path: Path) -> None:
    keys = ["pacs/s1/IM1", "pacs/s1/IM2", "pacs/s2/IM1", "other/x.dcm", "other/y.dcm"]
    summary = build(tmp_path, keys, type_map=TypeMap(extensionless_dicom_prefixes=("pacs/",)))
    series = {g["title"]: g for g in read_json_chunks(tmp_path, summary)[0]["dicom_series"]}
    assert set(series) == {"pacs/s1", "pacs/s2", "other"}
    assert "createVideo" not in series["other"] and series["pacs/s1"]["objectUrl_1"].endswith("IM2")
    single = build(tmp_path / "single", keys[3:], group_dicom=False)
    assert single.entries_by_type == {"dicom_series": 2}


def test_huge_sequences_are_split_or_rejected(tmp_path: Path) -> None:
    keys = [f"seq/f{i:05d}.jpg" for i in range(32_768)]
    summary = build(tmp_path, keys, image_mode="sequence")
    assert summary.split_groups == 1 and summary.n_registered_objects == 32_768
    index = read_index(summary)
    assert [line["title"] for line in index] == ["seq (part 1 of 2)", "seq (part 2 of 2)"]
    assert [len(line["objects"]) for line in index] == [16_384, 16_384]
    assert index[1]["objects"][0]["key"] == "seq/f16384.jpg"
    rejected = build(
        tmp_path / "r", keys[:30], image_mode="sequence", max_sequence_frames=10, sequence_overflow="reject"
    )
    assert rejected.n_entries == 0 and rejected.n_rejected == 30
    assert "limit is 10" in read_rejections(rejected)[0]["reason"]


def test_oversized_dicom_series_is_rejected_not_split(tmp_path: Path) -> None:
    summary = build(tmp_path, [f"s/{i}.dcm" for i in range(5)], max_group_objects=4)
    assert summary.n_entries == 0 and summary.rejections_by_category == {"group_too_large": 5}


def test_empty_groups_never_emitted(tmp_path: Path) -> None:
    # every member of folder b is rejected (URL too long), so no group "b" may appear
    long_url = "https://h/" + "u" * 17_000
    records = [rec("a/1.jpg"), ObjectRecord(long_url, "b/1.jpg", 1, "e", STAMP), rec("c/1.jpg")]
    summary = build(tmp_path, records, image_mode="group")
    assert [line["title"] for line in read_index(summary)] == ["a", "c"]
    assert read_rejections(summary)[0]["category"] == "url_too_long"
    assert build(tmp_path / "e", [], image_mode="group").chunks == []


def test_keys_with_spaces_unicode_and_plus(tmp_path: Path) -> None:
    keys = ["in/my photo.jpg", "in/ünï/çödé.png", "in/1+(32).jpg", "in/a%20b.jpg"]
    summary = build(tmp_path, keys)
    assert summary.n_registered_objects == 4 and summary.n_rejected == 0
    raw = Path(summary.chunks[0].uri.removeprefix("file://")).read_bytes()
    raw.decode("ascii")  # JSON is written with ASCII escapes
    titles = {img["title"] for img in json.loads(raw)["images"]}
    assert titles == set(keys)


@pytest.mark.parametrize(
    "options", [{}, {"format": "csv"}, {"image_mode": "group"}], ids=["fast", "csv", "groups"]
)
def test_dot_segment_keys_are_rejected_never_registered(tmp_path: Path, options: dict[str, Any]) -> None:
    keys = ["in/a/../b.jpg", "in/./c.jpg", "in/b.jpg", "in/d/..jpg", "in/e/.../f.jpg"]
    summary = build(tmp_path, keys, **options)
    rejected = {r["key"]: r for r in read_rejections(summary)}
    assert set(rejected) == {"in/a/../b.jpg", "in/./c.jpg"}
    assert {r["category"] for r in rejected.values()} == {"unsafe_url"}
    assert "'.' or '..' path segment" in rejected["in/./c.jpg"]["reason"]
    registered = {o["key"] for line in read_index(summary) for o in line["objects"]}
    assert registered == {"in/b.jpg", "in/d/..jpg", "in/e/.../f.jpg"}


def test_sorted_input_is_checked_in_the_backends_own_order(tmp_path: Path) -> None:
    from encord_provider.storage.key_order import code_point_order, utf16_order

    azure_order = ["in/a.jpg", "in/😀.jpg", "in/（1）.jpg"]  # as Azure lists them (UTF-16 code units)
    assert sorted(azure_order, key=utf16_order) == azure_order != sorted(azure_order, key=code_point_order)
    records = [rec(key) for key in azure_order]
    for options in ({}, {"format": "csv"}):  # the fast path and the general path
        with pytest.raises(UnorderedInputError, match="keys out of order"):
            build_manifests(records, ManifestConfig(**options), LocalDirSink(tmp_path))
        summary = build_manifests(
            records, ManifestConfig(**options), LocalDirSink(tmp_path), key_order=utf16_order
        )
        assert summary.n_registered_objects == 3
        with pytest.raises(UnorderedInputError):
            build_manifests(
                records[::-1], ManifestConfig(**options), LocalDirSink(tmp_path), key_order=utf16_order
            )


@pytest.mark.parametrize("prefix", ["../escape-", "/abs-", "a/../../x-", "a//b-", "a\\b", ""])
def test_chunk_prefix_cannot_leave_the_output_folder(prefix: str) -> None:
    with pytest.raises(ValueError, match="chunk_prefix"):
        ManifestConfig(chunk_prefix=prefix)
