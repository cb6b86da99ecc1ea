"""JSON and CSV output, chunking by every limit, sinks, ChunkInfo and the objects index."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from encord_provider.manifests import ChunkInfo, ManifestConfig, StoreSink, build_manifests
from encord_provider.manifests.config import MAX_SEQUENCE_FRAMES
from encord_provider.storage.local import LocalStore
from encord_provider.storage.records import ObjectRecord

from tests.unit.test_manifests_core import STAMP, build, read_index, read_json_chunks, read_rejections, rec

MIXED = [
    "img/a.jpg",
    "img/b.png",
    "vid/c.mp4",
    "aud/d.wav",
    "doc/e.pdf",
    "txt/f.txt",
    "dcm/s1/1.dcm",
    "dcm/s1/2.dcm",
    "nii/g.nii.gz",
]


def test_json_mixed_types_is_valid_with_merged_lists(tmp_path: Path) -> None:
    summary = build(tmp_path, MIXED, skip_duplicate_urls=False)
    (manifest,) = read_json_chunks(tmp_path, summary)
    assert set(manifest) == {
        "images",
        "videos",
        "audio",
        "pdfs",
        "text",
        "dicom_series",
        "nifti",
        "skip_duplicate_urls",
    }
    assert manifest["skip_duplicate_urls"] is False
    assert len(manifest["images"]) == 2 and manifest["pdfs"][0] == {
        "objectUrl": rec("doc/e.pdf").url,
        "title": "doc/e.pdf",
    }
    assert summary.chunks[0].counts == {
        "image": 2, "video": 1, "audio": 1, "pdf": 1, "text": 1, "dicom_series": 1, "nifti": 1,
    }  # fmt: skip


def test_objects_index_maps_each_entry_to_its_manifest_position(tmp_path: Path) -> None:
    summary = build(tmp_path, MIXED + ["seq/1.jpg", "seq/2.jpg"], image_mode="group")
    (manifest,) = read_json_chunks(tmp_path, summary)
    for line in read_index(summary):
        entry = manifest[line["list"]][line["position"]]
        assert entry["title"] == line["title"]
        positions = sorted(int(k.rsplit("_", 1)[1]) for k in entry if k.startswith("objectUrl_"))
        urls = [entry[f"objectUrl_{i}"] for i in positions]
        assert (urls or [entry["objectUrl"]]) == [o["url"] for o in line["objects"]]
        assert all(o["etag"] == "etag" and o["size"] == 100 for o in line["objects"])


def test_csv_sections_headings_and_create_video(tmp_path: Path) -> None:
    keys = ["v/1.mp4", "s/1.jpg", "s/2.jpg", "d/1.dcm", "d/2.dcm"]
    summary = build(tmp_path, keys, format="csv", image_mode="sequence")
    assert summary.chunks[0].format == "csv"
    rows = list(csv.reader(io.StringIO(Path(summary.chunks[0].uri[7:]).read_text())))
    assert rows == [
        ["ObjectUrl", "Video title", "Create video"],
        [rec("v/1.mp4").url, "v/1.mp4", "false"],
        ["ObjectUrl", "Image group title", "Create video"],
        [rec("s/1.jpg").url, "s", "true"],
        [rec("s/2.jpg").url, "s", "true"],
        ["ObjectUrl", "Series title", "Create video"],
        [rec("d/1.dcm").url, "d", "false"],
        [rec("d/2.dcm").url, "d", "false"],
    ]


def test_csv_groups_say_false_and_two_column_sections_without_sequences(tmp_path: Path) -> None:
    summary = build(tmp_path, ["g/1.jpg", "g/2.jpg", "v.mp4"], format="csv", image_mode="group")
    text = Path(summary.chunks[0].uri[7:]).read_text().splitlines()
    assert text[0] == "ObjectUrl,Video title"
    assert text[2] == "ObjectUrl,Image group title,Create video" and text[3].endswith(",g,false")


def test_csv_rejects_whitespace_urls_and_types_without_csv_form(tmp_path: Path) -> None:
    records = [ObjectRecord("s3://b/my photo.jpg", "my photo.jpg", 1, "e", STAMP), rec("a.pdf"), rec("b.jpg")]
    summary = build(tmp_path, records, format="csv")
    categories = {r["key"]: r["category"] for r in read_rejections(summary)}
    assert categories == {"my photo.jpg": "csv_whitespace", "a.pdf": "csv_type"}
    assert summary.n_registered_objects == 1
    with pytest.raises(ValueError, match="CSV manifests carry no metadata"):
        build(tmp_path / "x", ["a.jpg"], format="csv", sidecar_suffix=".metadata.json")


def test_per_type_counts_share_one_chunk_budget(tmp_path: Path) -> None:
    keys = [f"v/{i:03d}.mp4" for i in range(150)] + [f"w/{i:04d}.jpg" for i in range(1500)]
    summary = build(tmp_path, keys)
    for chunk in summary.chunks:
        load = chunk.counts.get("video", 0) / 100 + chunk.counts.get("image", 0) / 1000
        assert load <= 1.0 + 1e-9
    assert sum(c.n_objects for c in summary.chunks) == 1650
    assert [c.counts for c in summary.chunks][:2] == [{"video": 100}, {"video": 50, "image": 500}]


def test_separate_types_and_custom_per_type(tmp_path: Path) -> None:
    summary = build(tmp_path, MIXED, mix_types=False, per_type={"image": 1, "dicom": 5})
    assert all(len(c.counts) == 1 for c in summary.chunks)
    assert sum(1 for c in summary.chunks if c.counts == {"image": 1}) == 2


def test_entries_limit_and_manifest_bytes_limit(tmp_path: Path) -> None:
    keys = [f"t/{i:05d}.txt" for i in range(25)]
    assert [c.n_entries for c in build(tmp_path, keys, max_entries=10).chunks] == [10, 10, 5]
    small = build(tmp_path / "b", keys, max_manifest_bytes=1000)
    assert len(small.chunks) > 3 and all(c.manifest_bytes <= 1000 for c in small.chunks)
    assert sum(c.n_entries for c in small.chunks) == 25


def test_media_bytes_per_batch_and_oversized_entries(tmp_path: Path) -> None:
    records = [rec(f"v/{i}.mp4", size=600) for i in range(5)] + [rec("v/big.mp4", size=5000)]
    summary = build(tmp_path, records, max_media_bytes=1500)
    assert all(c.media_bytes <= 1500 for c in summary.chunks if c.n_entries > 1)
    assert summary.oversized_entries == 1
    assert any(c.n_entries == 1 and c.media_bytes == 5000 for c in summary.chunks)
    rejected = build(tmp_path / "r", records, max_media_bytes=1500, oversize_policy="reject")
    assert rejected.rejections_by_category == {"batch_too_large": 1}


def test_entry_too_large_for_any_file_is_rejected(tmp_path: Path) -> None:
    keys = [f"g/{i:03d}.jpg" for i in range(50)]
    summary = build(tmp_path, keys, image_mode="group", max_manifest_bytes=2000, group_overflow="reject")
    assert summary.n_entries == 0 and summary.rejections_by_category == {"entry_too_large": 50}


def test_limits_above_encord_are_refused() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ManifestConfig(max_entries=10_001)
    with pytest.raises(ValueError, match="max_sequence_frames"):
        ManifestConfig(max_sequence_frames=MAX_SEQUENCE_FRAMES + 1)
    with pytest.raises(ValueError, match="per_type"):
        ManifestConfig(per_type={"video": 0})


def test_store_sink_and_chunk_info_round_trip(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    summary = build_manifests(
        [rec("a.jpg")], ManifestConfig(chunk_prefix="run1/c-"), StoreSink(store, "staging")
    )
    chunk = summary.chunks[0]
    assert chunk.uri.endswith("staging/run1/c-00000.json")
    assert json.loads(store.read_bytes("staging/run1/c-00000.json"))["images"][0]["title"] == "a.jpg"
    assert store.exists("staging/run1/c-00000.objects.jsonl") and store.exists("staging/rejections.jsonl")
    assert ChunkInfo.from_dict(json.loads(json.dumps(chunk.to_dict()))) == chunk


def test_build_is_deterministic(tmp_path: Path) -> None:
    first = build(tmp_path / "1", MIXED + [f"x/{'q' * 320}{i}.jpg" for i in range(3)])
    second = build(tmp_path / "2", MIXED + [f"x/{'q' * 320}{i}.jpg" for i in range(3)])
    for a, b in zip(first.chunks, second.chunks, strict=True):
        assert Path(a.uri[7:]).read_bytes() == Path(b.uri[7:]).read_bytes()


def test_index_positions_point_at_their_entries_when_fast_and_slow_paths_mix(tmp_path: Path) -> None:
    long_key = "a/" + "x" * 309 + ".jpg"  # a title over 300 characters takes the slow path
    summary = build(tmp_path, ["a/1.jpg", "a/2.jpg", long_key, "a/4.jpg", "a/5.mp4"])
    (manifest,) = read_json_chunks(tmp_path, summary)
    index = read_index(summary)
    assert len(index) == 5
    for line in index:
        assert manifest[line["list"]][line["position"]]["title"] == line["title"]
