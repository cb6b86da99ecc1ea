"""Property: every input object lands in exactly one manifest entry (as media or sidecar) or one rejection."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from encord_provider.manifests import ManifestConfig, build_manifests
from encord_provider.manifests.writer import LocalDirSink
from encord_provider.storage.local import LocalStore
from encord_provider.storage.records import ObjectRecord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_manifests_core import STAMP, read_index, read_rejections

SUFFIX = ".metadata.json"
segment = st.sampled_from(["a", "b", "a b", "ü", "x+y", "1", "10", "2", "seq"])
name = st.sampled_from(["f1", "f2", "f10", "img", "scan", "doc", "clip", "a b", "ü", "n+"])
ext = st.sampled_from([".jpg", ".png", ".mp4", ".wav", ".pdf", ".txt", ".dcm", ".nii.gz", ".xyz", "", SUFFIX])
key = st.builds(lambda dirs, n, e: "/".join([*dirs, n + e]), st.lists(segment, max_size=3), name, ext)
configs = st.fixed_dictionaries(
    {
        "format": st.sampled_from(["json", "csv"]),
        "image_mode": st.sampled_from(["single", "group", "sequence"]),
        "max_entries": st.integers(1, 6),
        "max_sequence_frames": st.integers(1, 4),
        "max_group_objects": st.integers(1, 4),
        "sequence_overflow": st.sampled_from(["split", "reject"]),
        "group_overflow": st.sampled_from(["split", "reject"]),
        "mix_types": st.booleans(),
        "max_media_bytes": st.integers(50, 400),
        "oversize_policy": st.sampled_from(["own_chunk", "reject"]),
        "sidecars": st.booleans(),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    keys=st.sets(key, max_size=30),
    sizes=st.lists(st.integers(0, 300), min_size=30, max_size=30),
    options=configs,
)
def test_every_object_lands_exactly_once(
    keys: set[str], sizes: list[int], options: dict[str, object]
) -> None:
    sidecars = options.pop("sidecars")
    if options["format"] == "csv":
        sidecars = False
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bucket"
        records = []
        for i, k in enumerate(sorted(keys)):
            path = root / k
            if path.exists() or any(p.is_file() for p in path.parents if root in p.parents):
                continue  # a key that is also a "folder" cannot exist on a file system
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"{}" if k.endswith(SUFFIX) else bytes(sizes[i]))
            records.append(ObjectRecord(f"s3://b/{k}", k, sizes[i], "e", STAMP))
        records = [r for r in records if (root / r.key).is_file()]
        config = ManifestConfig(sidecar_suffix=SUFFIX if sidecars else None, **options)  # type: ignore[arg-type]
        summary = build_manifests(records, config, LocalDirSink(Path(tmp) / "out"), store=LocalStore(root))
        landed: Counter[str] = Counter()
        for line in read_index(summary):
            assert line["objects"], "empty entry"
            landed.update(o["key"] for o in line["objects"])
            landed.update(line["sidecars"])
        landed.update(r["key"] for r in read_rejections(summary))
        assert landed == Counter(r.key for r in records)
        assert summary.n_input == len(records)
        for chunk in summary.chunks:
            assert 0 < chunk.n_entries <= config.max_entries
            if chunk.n_entries > 1:
                assert chunk.media_bytes <= config.max_media_bytes
