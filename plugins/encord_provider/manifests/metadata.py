"""Metadata of entries: `clientMetadata` from sidecar files and optional probed media metadata blocks.

Sidecars: with `sidecar_suffix=".metadata.json"`, the object `a/b.jpg.metadata.json` holds the
clientMetadata of `a/b.jpg`. Sidecars are never registered themselves. In a key-ordered listing a sidecar
always follows its object inside that object's key range (the object key is a prefix of the sidecar key),
so pairing is streaming with a small stack of "open" objects (bounded by key nesting, not bucket size).
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

from encord_provider.manifests.datatypes import DataType, mime_type_of
from encord_provider.manifests.video_probe import VideoProbeError, probe_mp4
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.records import ObjectRecord

log = logging.getLogger(__name__)

MAX_SIDECAR_BYTES = 1_000_000
MEMBER_METADATA_KEY = "member_metadata"  # per-member sidecar values of a group whose sidecars differ
IMAGE_HEAD_BYTES = (64 * 1024, 1024 * 1024)
MAX_PDF_PROBE_BYTES = 64 * 1024 * 1024


class MetadataError(ValueError):
    """A sidecar or probe problem that rejects the object; the message names the file (and line)."""


class Paired:
    """A listed object with its sidecar, or an orphan sidecar (`orphan=True`, no object of its own)."""

    __slots__ = ("record", "sidecar", "orphan")

    def __init__(
        self, record: ObjectRecord, sidecar: ObjectRecord | None = None, orphan: bool = False
    ) -> None:
        self.record = record
        self.sidecar = sidecar
        self.orphan = orphan


def pair_sidecars(records: Iterable[ObjectRecord], suffix: str) -> Iterator[Paired]:
    """Attach `<key><suffix>` sidecars to their objects.

    An object is held until a key outside its key range arrives. Output order differs from key order only
    in that a held object comes after keys it is a prefix of; grouping tolerates that (its group scope
    stays open over the held object's key range).
    """
    open_items: list[Paired] = []  # each key is a prefix of the next one
    for record in records:
        key = record.key
        while open_items and not key.startswith(open_items[-1].record.key):
            yield open_items.pop()
        if key.endswith(suffix):
            owner = key[: -len(suffix)]
            target = next((item for item in reversed(open_items) if item.record.key == owner), None)
            if target is not None:
                target.sidecar = record
            else:
                yield Paired(record, orphan=True)
            continue
        open_items.append(Paired(record))
    while open_items:
        yield open_items.pop()


class GroupMetadata:
    """The clientMetadata of a multi-object entry, merged from its members' sidecars (see
    `merge_group_metadata`), with the keys the members disagreed on."""

    __slots__ = ("value", "conflicts")

    def __init__(self, value: dict[str, Any] | None, conflicts: list[str]) -> None:
        self.value = value
        self.conflicts = conflicts


def merge_group_metadata(sidecars: list[tuple[str, dict[str, Any]]]) -> GroupMetadata:
    """Merge the sidecars `(member key, values)` of an image group / sequence / DICOM series.

    Nothing is dropped. When every sidecar holds the same values (or there is only one), they are the
    entry's clientMetadata. Otherwise the top level keeps the keys every sidecar sets to the same value,
    and `member_metadata` maps each member's object key to its whole sidecar; `conflicts` names the keys
    that differ (or are missing from some sidecars). Members without a sidecar take no part.
    """
    if not sidecars:
        return GroupMetadata(None, [])
    first = sidecars[0][1]
    if all(values == first for _, values in sidecars[1:]):
        return GroupMetadata(dict(first), [])
    every_key = sorted({key for _, values in sidecars for key in values})
    shared = {
        key: first[key]
        for key in every_key
        if key in first and all(key in values and values[key] == first[key] for _, values in sidecars)
    }
    conflicts = [key for key in every_key if key not in shared]
    if MEMBER_METADATA_KEY in every_key:
        raise MetadataError(
            f"sidecars differ and use the key {MEMBER_METADATA_KEY!r}, which holds per-member values of "
            "a group; rename it"
        )
    return GroupMetadata({**shared, MEMBER_METADATA_KEY: dict(sidecars)}, conflicts)


def read_client_metadata(store: ObjectStore, sidecar: ObjectRecord) -> dict[str, Any]:
    """The JSON object in a sidecar; MetadataError naming the sidecar key (and line) when it is not one."""
    if sidecar.size > MAX_SIDECAR_BYTES:
        raise MetadataError(f"sidecar {sidecar.key} is {sidecar.size} bytes (limit {MAX_SIDECAR_BYTES})")
    raw = store.read_bytes(sidecar.key)
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MetadataError(f"sidecar {sidecar.key} is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise MetadataError(
            f"invalid JSON in sidecar {sidecar.key} line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(value, dict):
        raise MetadataError(f"sidecar {sidecar.key} must hold a JSON object, got {type(value).__name__}")
    return value


def probe_image(store: ObjectStore, record: ObjectRecord) -> dict[str, Any]:
    """imageMetadata from the header (Pillow parses PNG/JPEG/GIF/WebP/BMP/TIFF headers lazily)."""
    from PIL import Image, UnidentifiedImageError

    last_error: Exception | None = None
    for length in IMAGE_HEAD_BYTES:
        head = store.read_range(record.key, 0, min(length, record.size))
        try:
            with Image.open(io.BytesIO(head)) as image:
                width, height = image.size
                mime = Image.MIME.get(image.format or "", mime_type_of(record.key))
            return {"width": width, "height": height, "file_size": record.size, "mime_type": mime}
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            last_error = exc
            if len(head) >= record.size:
                break
    raise MetadataError(f"cannot read image dimensions of {record.key}: {last_error}")


_PAGES_COUNT = re.compile(rb"/Type\s*/Pages\b(?:(?!>>).)*?/Count\s+(\d+)", re.DOTALL)
_COUNT_PAGES = re.compile(rb"/Count\s+(\d+)(?:(?!>>).)*?/Type\s*/Pages\b", re.DOTALL)


def probe_pdf(store: ObjectStore, record: ObjectRecord) -> dict[str, Any]:
    """pdfMetadata; page count of the root /Pages node. PDFs with compressed object streams are refused."""
    if record.size > MAX_PDF_PROBE_BYTES:
        raise MetadataError(f"{record.key}: PDF larger than {MAX_PDF_PROBE_BYTES} bytes is not probed")
    data = store.read_bytes(record.key)
    if not data.startswith(b"%PDF-"):
        raise MetadataError(f"{record.key} is not a PDF (no %PDF- header)")
    counts = [int(m.group(1)) for m in _PAGES_COUNT.finditer(data)]
    counts += [int(m.group(1)) for m in _COUNT_PAGES.finditer(data)]
    if not counts:
        raise MetadataError(f"{record.key}: page tree not found (compressed object streams are not parsed)")
    return {"fileSize": record.size, "numPages": max(counts)}


def probe_video(store: ObjectStore, record: ObjectRecord) -> dict[str, Any]:
    try:
        facts = probe_mp4(store, record.key, record.size)
    except VideoProbeError as exc:
        raise MetadataError(str(exc)) from None
    return {**facts, "file_size": record.size, "mime_type": mime_type_of(record.key)}


PROBES = {DataType.IMAGE: probe_image, DataType.PDF: probe_pdf, DataType.VIDEO: probe_video}
METADATA_KEYS = {
    DataType.IMAGE: "imageMetadata",
    DataType.PDF: "pdfMetadata",
    DataType.VIDEO: "videoMetadata",
}
