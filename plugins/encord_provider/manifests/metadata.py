"""Metadata of entries: `clientMetadata` from sidecar files and optional probed media metadata blocks.

Sidecars: with `sidecar_suffix=".metadata.json"`, the object `a/b.jpg.metadata.json` holds the
clientMetadata of `a/b.jpg`. Sidecars are never registered themselves. In a key-ordered listing a sidecar
always follows its object inside that object's key range (the object key is a prefix of the sidecar key),
so pairing is streaming with a small stack of "open" objects (bounded by key nesting, not bucket size).
"""

from __future__ import annotations

import importlib
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from encord_provider.errors import PermanentError
from encord_provider.manifests.datatypes import TYPES, mime_type_of
from encord_provider.manifests.video_probe import VideoProbeError, probe_mp4
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import ObjectNotFoundError
from encord_provider.storage.records import ObjectRecord

log = logging.getLogger(__name__)

MAX_SIDECAR_BYTES = 1_000_000
MEMBER_METADATA_KEY = "member_metadata"  # per-member sidecar values of a group whose sidecars differ
IMAGE_HEAD_BYTES = (64 * 1024, 1024 * 1024)
MAX_PDF_PROBE_BYTES = 64 * 1024 * 1024


class MetadataError(PermanentError, ValueError):
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


class _SidecarValueError(PermanentError, ValueError):
    """A JSON construct that parses in Python but cannot be carried faithfully into a manifest."""


def _no_constants(name: str) -> Any:
    raise _SidecarValueError(f"{name} is not valid JSON (the manifest could not carry it)")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1}) if len(set(keys)) < len(keys) else []
    if repeated:
        raise _SidecarValueError(
            f"the key(s) {repeated} appear more than once (only one value would survive)"
        )
    return dict(pairs)


def read_client_metadata(store: ObjectStore, sidecar: ObjectRecord) -> dict[str, Any]:
    """The JSON object in a sidecar; MetadataError naming the sidecar key (and line) when it is not one,
    or when it holds what a manifest cannot carry faithfully (NaN / Infinity, repeated keys, absurd
    nesting). A UTF-8 byte order mark is allowed."""
    if sidecar.size > MAX_SIDECAR_BYTES:
        raise MetadataError(f"sidecar {sidecar.key} is {sidecar.size} bytes (limit {MAX_SIDECAR_BYTES})")
    try:
        raw = store.read_bytes(sidecar.key)
    except ObjectNotFoundError:
        raise MetadataError(f"sidecar {sidecar.key} was listed but is gone") from None
    try:
        value = json.loads(
            raw.decode("utf-8-sig"), parse_constant=_no_constants, object_pairs_hook=_unique_keys
        )
    except UnicodeDecodeError as exc:
        raise MetadataError(f"sidecar {sidecar.key} is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise MetadataError(
            f"invalid JSON in sidecar {sidecar.key} line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except _SidecarValueError as exc:
        raise MetadataError(f"sidecar {sidecar.key}: {exc}") from None
    except RecursionError:
        raise MetadataError(f"sidecar {sidecar.key} nests too deeply to parse") from None
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


_EOF_TAIL_BYTES = 64  # a complete PDF ends with %%EOF, give or take trailing whitespace


def probe_pdf(store: ObjectStore, record: ObjectRecord) -> dict[str, Any]:
    """pdfMetadata with the page count of the document's current page tree, parsed by pypdf: the
    trailer of the last incremental update names the catalog, so superseded page trees never count.

    Encord trusts `numPages` blindly, so any doubt raises MetadataError and the block is left out:
    a file that does not end in `%%EOF` (truncated), anything pypdf's strict mode rejects (a broken xref
    table it would otherwise "repair" by guessing), an encrypted file it cannot open, or a page tree whose
    `/Count` disagrees with its leaves.
    """
    if record.size > MAX_PDF_PROBE_BYTES:
        raise MetadataError(f"{record.key}: PDF larger than {MAX_PDF_PROBE_BYTES} bytes is not probed")
    data = store.read_bytes(record.key)
    if not data.startswith(b"%PDF-"):
        raise MetadataError(f"{record.key} is not a PDF (no %PDF- header)")
    if b"%%EOF" not in data[-_EOF_TAIL_BYTES:]:
        raise MetadataError(f"{record.key}: PDF does not end with %%EOF (truncated?); page count unknown")
    try:
        pages = _page_count(data)
    except MetadataError as exc:
        raise MetadataError(f"{record.key}: {exc}") from None
    except Exception as exc:  # pypdf raises many types on malformed input
        raise MetadataError(f"{record.key}: cannot parse PDF ({type(exc).__name__}: {exc})") from None
    return {"fileSize": record.size, "numPages": pages}


def _page_count(data: bytes) -> int:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair warnings are our MetadataErrors
    reader = PdfReader(io.BytesIO(data), strict=True)
    if reader.is_encrypted and not reader.decrypt(""):
        raise MetadataError("PDF is encrypted; page count unknown")
    catalog: Any = reader.trailer["/Root"].get_object()
    root: Any = catalog["/Pages"].get_object()
    counted = _leaves(root, set())
    declared = int(root.get("/Count", -1))
    if counted != declared:
        raise MetadataError(f"page tree /Count {declared} disagrees with its {counted} pages")
    return counted


def _leaves(node: Any, seen: set[tuple[int, int]]) -> int:
    """Leaf /Page objects under a /Pages node; a node reached twice (a cycle, a shared kid) is an error."""
    kind = node.get("/Type")
    if kind == "/Page" or "/Kids" not in node:
        if kind not in ("/Page", None):
            raise MetadataError(f"page tree node of type {kind}")
        return 1
    total = 0
    for kid in node["/Kids"]:
        ref = (getattr(kid, "idnum", -1), getattr(kid, "generation", 0))
        if ref in seen:
            raise MetadataError("page tree reaches one node twice")
        if ref[0] >= 0:
            seen.add(ref)
        total += _leaves(kid.get_object(), seen)
    return total


def probe_video(store: ObjectStore, record: ObjectRecord) -> dict[str, Any]:
    try:
        facts = probe_mp4(store, record.key, record.size)
    except VideoProbeError as exc:
        raise MetadataError(str(exc)) from None
    return {**facts, "file_size": record.size, "mime_type": mime_type_of(record.key)}


def _probe_function(path: str) -> Callable[[ObjectStore, ObjectRecord], dict[str, Any]]:
    module, _, name = path.partition(":")
    probe: Callable[[ObjectStore, ObjectRecord], dict[str, Any]] = getattr(
        importlib.import_module(module), name
    )
    return probe


# From the data-type registry (manifests.datatypes.TYPES): which types have a probe, and its block's key.
PROBES = {kind: _probe_function(spec.probe) for kind, spec in TYPES.items() if spec.probe}
METADATA_KEYS = {kind: spec.metadata_key for kind, spec in TYPES.items() if spec.metadata_key}
