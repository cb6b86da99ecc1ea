"""Per-key image modes (`image_mode_rules`): mixed buckets, first match wins, errors, CLI and pipeline config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from encord_provider.config.ingest import ChunkingConfig
from encord_provider.config.loader import load_pipelines
from encord_provider.manifests import ImageMode, ImageModeRule, ManifestConfig
from encord_provider.manifests.cli import build_parser, config_from_args, main
from encord_provider.operators.ingest_manifest import manifest_config
from pydantic import ValidationError

from tests.unit.test_manifests_core import build, read_index, read_json_chunks

ROOT = Path(__file__).resolve().parents[2]
MIXED = [
    "in/photos/a.jpg",
    "in/photos/b.png",
    "in/sequences/cam1/frame_2.jpg",
    "in/sequences/cam1/frame_10.jpg",
    "in/sequences/cam1/frame_1.jpg",
    "in/sequences/cam2/f1.jpg",
    "in/groups/x/p1.jpg",
    "in/groups/x/p2.jpg",
    "in/videos/clip.mp4",
    "in/z.jpg",
]
RULES = ("in/sequences/**=sequence", "in/groups/=group")


def entries_by_title(summary: Any) -> dict[str, tuple[str, list[str]]]:
    return {
        line["title"]: (line["type"], [o["key"] for o in line["objects"]]) for line in read_index(summary)
    }


def test_mixed_bucket_singles_sequences_and_groups_in_one_run(tmp_path: Path) -> None:
    summary = build(tmp_path, MIXED, image_mode_rules=RULES)
    entries = entries_by_title(summary)
    assert entries == {
        "in/photos/a.jpg": ("image", ["in/photos/a.jpg"]),
        "in/photos/b.png": ("image", ["in/photos/b.png"]),
        "in/sequences/cam1": (
            "image_sequence",
            [
                "in/sequences/cam1/frame_1.jpg",
                "in/sequences/cam1/frame_2.jpg",
                "in/sequences/cam1/frame_10.jpg",
            ],
        ),
        "in/sequences/cam2": ("image_sequence", ["in/sequences/cam2/f1.jpg"]),
        "in/groups/x": ("image_group", ["in/groups/x/p1.jpg", "in/groups/x/p2.jpg"]),
        "in/videos/clip.mp4": ("video", ["in/videos/clip.mp4"]),
        "in/z.jpg": ("image", ["in/z.jpg"]),
    }
    manifest = read_json_chunks(tmp_path, summary)[0]
    create_video = {g["title"]: g["createVideo"] for g in manifest["image_groups"]}
    assert create_video == {"in/sequences/cam1": True, "in/sequences/cam2": True, "in/groups/x": False}
    assert [i["title"] for i in manifest["images"]] == ["in/photos/a.jpg", "in/photos/b.png", "in/z.jpg"]
    assert summary.n_registered_objects == len(MIXED) and summary.n_rejected == 0


def test_rules_take_the_general_path_too(tmp_path: Path) -> None:
    """CSV output takes the per-candidate path; the rules must decide there exactly as on the fast path."""
    fast = build(tmp_path / "fast", MIXED, image_mode_rules=RULES)
    general = build(tmp_path / "general", MIXED, image_mode_rules=RULES, format="csv")
    assert entries_by_title(general) == entries_by_title(fast)
    assert general.entries_by_type == {"image": 3, "image_sequence": 2, "image_group": 1, "video": 1}


def test_first_match_wins_and_default_mode_for_the_rest(tmp_path: Path) -> None:
    keys = ["s/a/1.jpg", "s/a/2.jpg", "s/b/1.jpg", "s/b/2.jpg", "t/1.jpg", "t/2.jpg"]
    rules = [ImageModeRule("s/b/", ImageMode.SINGLE), ImageModeRule("s/**", ImageMode.SEQUENCE)]
    summary = build(tmp_path, keys, image_mode_rules=rules, image_mode="group")
    assert entries_by_title(summary) == {
        "s/a": ("image_sequence", ["s/a/1.jpg", "s/a/2.jpg"]),
        "s/b/1.jpg": ("image", ["s/b/1.jpg"]),
        "s/b/2.jpg": ("image", ["s/b/2.jpg"]),
        "t": ("image_group", ["t/1.jpg", "t/2.jpg"]),
    }
    swapped = build(tmp_path / "swapped", keys, image_mode_rules=rules[::-1], image_mode="group")
    assert entries_by_title(swapped)["s/b"] == ("image_sequence", ["s/b/1.jpg", "s/b/2.jpg"])


def test_regex_glob_without_slash_and_group_regex(tmp_path: Path) -> None:
    keys = ["cams/cam1_f1.jpg", "cams/cam1_f2.jpg", "cams/cam2_f1.jpg", "cams/still.png", "cams/shot_seq.jpg"]
    summary = build(
        tmp_path,
        keys,
        image_mode_rules=[r"re:cam\d+_=sequence", "*.png=group"],
        group_regex=r"cams/(?P<group>cam\d+)_",
    )
    assert entries_by_title(summary) == {
        "cam1": ("image_sequence", ["cams/cam1_f1.jpg", "cams/cam1_f2.jpg"]),
        "cam2": ("image_sequence", ["cams/cam2_f1.jpg"]),
        "cams": ("image_group", ["cams/still.png"]),
        "cams/shot_seq.jpg": ("image", ["cams/shot_seq.jpg"]),
    }


def test_rules_leave_other_types_alone(tmp_path: Path) -> None:
    summary = build(tmp_path, ["v/a.mp4", "v/b.mp4", "v/c.jpg"], image_mode_rules=["v/=sequence"])
    assert summary.entries_by_type == {"video": 2, "image_sequence": 1}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("re:(=sequence", "invalid regular expression"),
        ("a/**=video", "mode 'video' is not one of single, group, sequence"),
        ("a/**", "must look like PATTERN=MODE"),
        ("=sequence", "must look like PATTERN=MODE"),
        ({"match": "a/", "regex": "b", "mode": "group"}, "exactly one of 'match' or 'regex'"),
        ({"match": "a/"}, "'mode' is required"),
        ({"match": "a/", "mode": "group", "extra": 1}, "unknown field(s) ['extra']"),
        (42, "image_mode_rules[0]: expected a rule"),
    ],
)
def test_invalid_rules_are_refused_with_a_clear_error(rule: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        ManifestConfig(image_mode_rules=(rule,))  # type: ignore[arg-type]
    assert message in str(info.value)


def test_rule_kinds_and_cli_form() -> None:
    assert ImageModeRule.parse("raw/seq/=sequence").kind == "prefix"
    assert ImageModeRule.parse("raw/**/*.jpg=group").kind == "glob"
    regex = ImageModeRule.parse(r"re:x=\d+=single")  # the last '=' splits
    assert (regex.kind, regex.match, regex.mode) == ("regex", r"x=\d+", ImageMode.SINGLE)
    assert ImageModeRule("raw/seq/", ImageMode.GROUP).matcher("raw/seq/1.jpg")
    assert not ImageModeRule("raw/seq/", ImageMode.GROUP).matcher("x/raw/seq/1.jpg")


def test_cli_flag_is_repeatable_and_ordered() -> None:
    args = build_parser().parse_args(
        ["s3://b/in/", "out", "--image-mode", "group", "--image-mode-rule", "in/a/=single"]
        + ["--image-mode-rule", "in/**=sequence"]
    )
    config = config_from_args(args)
    assert [(r.match, r.mode) for r in config.image_mode_rules] == [
        ("in/a/", ImageMode.SINGLE),
        ("in/**", ImageMode.SEQUENCE),
    ]
    assert config.image_mode is ImageMode.GROUP
    assert "--image-mode-rule" in build_parser().format_help()


def test_cli_mixed_bucket_end_to_end(
    tmp_path: Path, s3_client: Any, moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    s3_client.create_bucket(Bucket="mixed")
    for key in MIXED:
        s3_client.put_object(Bucket="mixed", Key=key, Body=b"x")
    argv = ["s3://mixed/in/", str(tmp_path), "--endpoint-url", moto_endpoint, "--json"]
    argv += [arg for rule in RULES for arg in ("--image-mode-rule", rule)]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["entries_by_type"] == {"image": 3, "image_sequence": 2, "image_group": 1, "video": 1}


def test_cli_bad_rule_exits_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["s3://b/in/", str(tmp_path), "--image-mode-rule", "in/**=movie"]) == 2  # a usage error
    assert "mode 'movie' is not one of single, group, sequence" in capsys.readouterr().err


def test_pipeline_image_modes_are_validated() -> None:
    with pytest.raises(ValidationError) as info:
        ChunkingConfig.model_validate({"image_modes": [{"regex": "(", "mode": "sequence"}]})
    assert "image_modes.0" in str(info.value) and "invalid regular expression" in str(info.value)
    with pytest.raises(ValidationError, match="exactly one of 'match' or 'regex'"):
        ChunkingConfig.model_validate({"image_modes": [{"mode": "group"}]})
    with pytest.raises(ValidationError, match="image_modes.0.mode"):
        ChunkingConfig.model_validate({"image_modes": [{"match": "a/", "mode": "video"}]})


def test_pipeline_file_error_names_file_and_field(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "include" / "pipelines.yaml").read_text())
    data["pipelines"][0]["chunking"]["image_modes"] = [{"match": "x/", "regex": "y", "mode": "group"}]
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError) as info:
        load_pipelines(path)
    assert str(info.value).startswith(f"{path}:")
    assert "pipelines[0].chunking.image_modes[0]: give exactly one of 'match' or 'regex'" in str(info.value)


def test_demo_pipeline_registers_the_walk_frames_as_one_sequence(tmp_path: Path) -> None:
    from demo.media import demo_objects

    pipeline = next(
        p for p in load_pipelines(ROOT / "include" / "pipelines.yaml").pipelines if p.name == "demo_s3"
    )
    config = manifest_config(pipeline)
    assert [(r.match, r.mode) for r in config.image_mode_rules] == [
        ("incoming/sequences/**", ImageMode.SEQUENCE)
    ]
    keys = [key for key, _, _ in demo_objects("incoming/")]
    summary = build(tmp_path, keys, **{f: getattr(config, f) for f in ("image_mode", "image_mode_rules")})
    entries = entries_by_title(summary)
    assert entries["incoming/sequences/walk"] == (
        "image_sequence",
        [f"incoming/sequences/walk/frame_{i:04d}.jpg" for i in range(4)],
    )
    assert sum(kind == "image" for kind, _ in entries.values()) == 5  # incoming/images/* stay single
