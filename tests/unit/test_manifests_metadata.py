"""Sidecar clientMetadata and probed metadata blocks (image header, MP4 moov, PDF page tree)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from encord_provider.manifests import LocalDirSink, ManifestConfig, build_manifests
from encord_provider.manifests.metadata import MetadataError, pair_sidecars, probe_pdf
from encord_provider.manifests.video_probe import VideoProbeError, probe_mp4
from encord_provider.storage.local import LocalStore
from PIL import Image

from tests.unit.test_manifests_core import read_index, read_json_chunks, read_rejections, rec

SUFFIX = ".metadata.json"


def write(root: Path, key: str, data: bytes) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def run(root: Path, out: Path, **options: object):  # type: ignore[no-untyped-def]
    store = LocalStore(root)
    config = ManifestConfig(**options)  # type: ignore[arg-type]
    return build_manifests(store.list_objects(), config, LocalDirSink(out), store=store)


def test_pairing_is_streaming_and_handles_prefix_siblings() -> None:
    keys = ["a.jpg", "a.jpg-x.png", "a.jpg-x.png" + SUFFIX, "a.jpg" + SUFFIX, "b" + SUFFIX, "c.jpg"]
    paired = list(pair_sidecars([rec(k) for k in keys], SUFFIX))
    by_key = {p.record.key: p for p in paired}
    assert by_key["a.jpg"].sidecar.key == "a.jpg" + SUFFIX  # type: ignore[union-attr]
    assert by_key["a.jpg-x.png"].sidecar.key == "a.jpg-x.png" + SUFFIX  # type: ignore[union-attr]
    assert by_key["b" + SUFFIX].orphan and by_key["c.jpg"].sidecar is None
    assert len(paired) == 4


def test_sidecars_become_client_metadata_and_are_never_registered(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    write(root, "img/a.jpg", b"x")
    write(root, "img/a.jpg" + SUFFIX, b'{"camera": "front", "n": 2}')
    write(root, "img/b.jpg", b"x")
    write(root, "grp/1.png", b"x")
    write(root, "grp/1.png" + SUFFIX, b'{"site": "A"}')
    write(root, "grp/2.png", b"x")
    write(root, "lonely" + SUFFIX, b"{}")
    summary = run(root, tmp_path / "out", sidecar_suffix=SUFFIX)
    (manifest,) = read_json_chunks(tmp_path, summary)
    images = {i["title"]: i for i in manifest["images"]}
    assert images["img/a.jpg"]["clientMetadata"] == {"camera": "front", "n": 2}
    assert "clientMetadata" not in images["img/b.jpg"]
    assert all(not i["objectUrl"].endswith(SUFFIX) for i in manifest["images"])
    assert summary.n_sidecars == 2
    assert [r["category"] for r in read_rejections(summary)] == ["orphan_sidecar"]
    grouped = run(root, tmp_path / "out2", sidecar_suffix=SUFFIX, image_mode="group")
    group = next(g for g in read_json_chunks(tmp_path, grouped)[0]["image_groups"] if g["title"] == "grp")
    assert group["clientMetadata"] == {"site": "A"}
    assert next(line for line in read_index(grouped) if line["title"] == "grp")["sidecars"] == [
        "grp/1.png" + SUFFIX
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{\n  "a": 1,\n  "b": \n}', "line 4"),
        (b"[1, 2]", "must hold a JSON object"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"score": NaN}', "NaN is not valid JSON"),
        (b'{"a": {"score": -Infinity}}', "-Infinity is not valid JSON"),
        (b'{"camera": 1, "camera": 2}', "['camera'] appear more than once"),
        (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "nests too deeply"),
    ],
)
def test_bad_sidecar_rejects_object_and_names_sidecar(tmp_path: Path, content: bytes, message: str) -> None:
    root = tmp_path / "bucket"
    write(root, "x/a.txt", b"hello")
    write(root, "x/a.txt" + SUFFIX, content)
    summary = run(root, tmp_path / "out", sidecar_suffix=SUFFIX)
    rejections = read_rejections(summary)
    assert [r["key"] for r in rejections] == ["x/a.txt", "x/a.txt" + SUFFIX]
    assert "x/a.txt.metadata.json" in rejections[0]["reason"] and message in rejections[0]["reason"]
    assert summary.n_entries == 0


def test_sidecars_without_store_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pass store="):
        build_manifests(
            [rec("a.jpg"), rec("a.jpg" + SUFFIX)],
            ManifestConfig(sidecar_suffix=SUFFIX),
            LocalDirSink(tmp_path),
        )


def image_bytes(fmt: str, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "fmt", "mime"),
    [("a.png", "PNG", "image/png"), ("b.jpg", "JPEG", "image/jpeg"), ("c.gif", "GIF", "image/gif"),
     ("d.webp", "WEBP", "image/webp"), ("e.bmp", "BMP", "image/bmp")],
)  # fmt: skip
def test_probe_image_dimensions(tmp_path: Path, name: str, fmt: str, mime: str) -> None:
    root = tmp_path / "bucket"
    write(root, name, image_bytes(fmt, (37, 21)))
    summary = run(root, tmp_path / "out", probe_images=True)
    block = read_json_chunks(tmp_path, summary)[0]["images"][0]["imageMetadata"]
    assert block == {"width": 37, "height": 21, "file_size": (root / name).stat().st_size, "mime_type": mime}


def test_probe_failure_registers_without_block(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    write(root, "broken.png", b"not an image at all")
    summary = run(root, tmp_path / "out", probe_images=True)
    assert summary.probe_failures == 1
    assert "imageMetadata" not in read_json_chunks(tmp_path, summary)[0]["images"][0]


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4_bytes(width: int, height: int, frames: int, timescale: int, duration: int, moov_last: bool) -> bytes:
    tkhd = bytes(4) + bytes(72) + struct.pack(">II", width << 16, height << 16)
    mdhd = bytes(4) + struct.pack(">IIII", 0, 0, timescale, duration) + bytes(4)
    hdlr = bytes(4) + bytes(4) + b"vide" + bytes(12) + b"\0"
    stts = bytes(4) + struct.pack(">III", 1, frames, duration // frames)
    stbl = box(b"stbl", box(b"stts", stts))
    mdia = box(b"mdia", box(b"mdhd", mdhd) + box(b"hdlr", hdlr) + box(b"minf", stbl))
    trak = box(b"trak", box(b"tkhd", tkhd) + mdia)
    sound = box(b"trak", box(b"mdia", box(b"hdlr", bytes(8) + b"soun" + bytes(13))))
    moov = box(b"moov", box(b"mvhd", bytes(100)) + sound + trak)
    parts = [box(b"ftyp", b"isom" + bytes(4)), box(b"mdat", bytes(5000))]
    return b"".join([*parts, moov] if moov_last else [parts[0], moov, parts[1]])


@pytest.mark.parametrize("moov_last", [True, False])
def test_probe_mp4(tmp_path: Path, moov_last: bool) -> None:
    root = tmp_path / "bucket"
    write(root, "v/clip.mp4", mp4_bytes(1280, 720, 250, 12800, 128000, moov_last))
    summary = run(root, tmp_path / "out", probe_videos=True)
    block = read_json_chunks(tmp_path, summary)[0]["videos"][0]["videoMetadata"]
    size = (root / "v/clip.mp4").stat().st_size
    assert block == {
        "fps": 25.0,
        "duration": 10.0,
        "width": 1280,
        "height": 720,
        "file_size": size,
        "mime_type": "video/mp4",
    }


def test_probe_non_mp4_video_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    write(root, "v.mkv", b"\x1aE\xdf\xa3" + bytes(100))
    with pytest.raises(VideoProbeError):
        probe_mp4(LocalStore(root), "v.mkv", 104)
    summary = run(root, tmp_path / "out", probe_videos=True)
    assert (
        summary.probe_failures == 1
        and "videoMetadata" not in read_json_chunks(tmp_path, summary)[0]["videos"][0]
    )


def make_pdf(pages: int, encrypt: str | None = None) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(100, 100)
    if encrypt is not None:
        writer.encrypt(user_password=encrypt, owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def update_incrementally(pdf: bytes, keep: int | None = None, add: int = 0) -> bytes:
    """An incremental update (appended objects, xref and trailer): the old page tree stays in the file."""
    from pypdf import PdfWriter

    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    for _ in range(add):
        writer.add_blank_page(100, 100)
    while keep is not None and len(writer.pages) > keep:
        del writer.pages[-1]
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated.startswith(pdf) and updated.count(b"/Count") >= 2  # really incremental
    return updated


def probed_pages(tmp_path: Path, files: dict[str, bytes]) -> dict[str, int | None]:
    root = tmp_path / "bucket"
    for name, data in files.items():
        write(root, name, data)
    summary = run(root, tmp_path / "out", probe_pdfs=True)
    pdfs = read_json_chunks(tmp_path, summary)[0]["pdfs"]
    return {p["title"]: p.get("pdfMetadata", {}).get("numPages") for p in pdfs}


def test_probe_pdf_counts_the_current_page_tree_of_incremental_updates(tmp_path: Path) -> None:
    three = make_pdf(3)
    assert probed_pages(
        tmp_path,
        {
            "plain.pdf": three,
            "shrunk.pdf": update_incrementally(three, keep=1),  # superseded tree has 3 pages
            "grown.pdf": update_incrementally(make_pdf(1), add=4),
            "twice.pdf": update_incrementally(update_incrementally(three, add=2), keep=2),
            "open-encrypted.pdf": make_pdf(2, encrypt=""),
        },
    ) == {"plain.pdf": 3, "shrunk.pdf": 1, "grown.pdf": 5, "twice.pdf": 2, "open-encrypted.pdf": 2}


def test_probe_pdf_leaves_the_block_out_of_broken_pdfs(tmp_path: Path) -> None:
    good = update_incrementally(make_pdf(3), add=1)
    lying = good.replace(b"/Count 4", b"/Count 7")
    assert lying != good and len(lying) == len(good)
    broken = {
        "truncated.pdf": good[: len(good) - 40],  # the update's xref and trailer are gone
        "no-xref.pdf": good.replace(b"startxref", b"startxreg"),
        "garbage.pdf": b"%PDF-1.7\n" + b"x" * 200 + b"\n%%EOF\n",
        "lying-count.pdf": lying,
        "locked.pdf": make_pdf(2, encrypt="secret"),
        "hand-made.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 3 >> endobj\n%%EOF\n",
    }
    assert probed_pages(tmp_path, broken) == dict.fromkeys(broken)
    with pytest.raises(MetadataError, match="not a PDF"):
        write(tmp_path, "fake.pdf", b"hello")
        probe_pdf(LocalStore(tmp_path), rec("fake.pdf", size=5))


def test_group_sidecars_that_differ_are_kept_per_member(tmp_path: Path) -> None:
    """Every member's values survive: shared ones at the top, all of them under member_metadata."""
    root = tmp_path / "bucket"
    for number, values in enumerate([b'{"site": "A", "frame": 1}', b'{"site": "A", "frame": 2}', None]):
        write(root, f"seq/{number}.png", b"x")
        if values is not None:
            write(root, f"seq/{number}.png{SUFFIX}", values)
    for number in range(2):  # identical sidecars: plain clientMetadata, as for one sidecar
        write(root, f"same/{number}.png", b"x")
        write(root, f"same/{number}.png{SUFFIX}", b'{"site": "B"}')
    summary = run(root, tmp_path / "out", sidecar_suffix=SUFFIX, image_mode="sequence")
    groups = {g["title"]: g for g in read_json_chunks(tmp_path, summary)[0]["image_groups"]}
    assert groups["seq"]["clientMetadata"] == {
        "site": "A",
        "member_metadata": {"seq/0.png": {"site": "A", "frame": 1}, "seq/1.png": {"site": "A", "frame": 2}},
    }
    assert groups["same"]["clientMetadata"] == {"site": "B"}
    assert summary.metadata_conflicts == 1 and summary.n_sidecars == 4
    sidecars = {line["title"]: line["sidecars"] for line in read_index(summary)}
    assert sidecars["seq"] == [f"seq/0.png{SUFFIX}", f"seq/1.png{SUFFIX}"]


def test_split_group_parts_merge_their_own_members(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    for number in range(4):
        write(root, f"g/{number}.png", b"x")
        write(root, f"g/{number}.png{SUFFIX}", b'{"part": %d}' % (number // 2))
    summary = run(root, tmp_path / "out", sidecar_suffix=SUFFIX, image_mode="group", max_group_objects=2)
    groups = read_json_chunks(tmp_path, summary)[0]["image_groups"]
    assert [g["clientMetadata"] for g in groups] == [{"part": 0}, {"part": 1}]


def test_group_sidecar_using_the_reserved_key_rejects_the_group(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    write(root, "g/1.png", b"x")
    write(root, f"g/1.png{SUFFIX}", b'{"member_metadata": 1}')
    write(root, "g/2.png", b"x")
    write(root, f"g/2.png{SUFFIX}", b'{"other": 2}')
    summary = run(root, tmp_path / "out", sidecar_suffix=SUFFIX, image_mode="group")
    rejected = {r["key"]: r for r in read_rejections(summary)}
    assert set(rejected) == {"g/1.png", "g/2.png", f"g/1.png{SUFFIX}", f"g/2.png{SUFFIX}"}
    assert "'member_metadata'" in rejected["g/1.png"]["reason"] and summary.n_registered_objects == 0


def test_sidecar_with_a_byte_order_mark_and_unicode_is_read(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    write(root, "a.txt", b"hello")
    write(root, "a.txt" + SUFFIX, '\ufeff{"ort": "Zürich 😀", "n": 12345678901234567890}'.encode())
    summary = run(root, tmp_path / "out", sidecar_suffix=SUFFIX)
    (manifest,) = read_json_chunks(tmp_path, summary)
    assert manifest["text"][0]["clientMetadata"] == {"ort": "Zürich 😀", "n": 12345678901234567890}


def test_a_probe_that_breaks_on_hostile_media_leaves_the_block_out(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    import zlib

    png = image_bytes("PNG", (4, 4))
    header = b"IHDR" + struct.pack(">II", 200_000, 200_000) + png[24:29]  # claims 40 gigapixels
    bomb = (
        png[:12] + header + struct.pack(">I", zlib.crc32(header)) + png[33:]
    )  # Pillow: DecompressionBombError
    write(root, "bomb.png", bomb)
    write(root, "fine.png", image_bytes("PNG", (3, 2)))
    summary = run(root, tmp_path / "out", probe_images=True)
    images = {i["title"]: i for i in read_json_chunks(tmp_path, summary)[0]["images"]}
    assert "imageMetadata" not in images["bomb.png"] and images["fine.png"]["imageMetadata"]["width"] == 3
    assert summary.probe_failures == 1
