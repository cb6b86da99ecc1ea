"""Turn an upload-job body (Encord upload JSON or the SDK's structured ``dataItems``) into job units.

A unit is one video / image / audio / pdf / text / nifti file, one image group or sequence, or one
DICOM series. Entry-level problems (no URL, title too long, ...) become a unit with an ``error``
so the job reports them per file; a malformed document raises ``ManifestError`` (HTTP 400).
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from encord_emulator.clouds.base import MAX_URL_BYTES

MAX_TITLE_CHARS = 300
MAX_SEQUENCE_FRAMES = 32_767

# Encord upload-JSON key -> (storage item type, metadata block key)
SINGLE_KINDS: dict[str, tuple[str, str | None]] = {
    "videos": ("video", "videoMetadata"),
    "audio": ("audio", "audioMetadata"),
    "pdfs": ("pdf", "pdfMetadata"),
    "text": ("plainText", "textMetadata"),
    "images": ("image", "imageMetadata"),
    "nifti": ("nifti", None),
}
MULTI_KINDS = ("image_groups", "dicom_series")
FLAGS = ("skip_duplicate_urls", "upsert_metadata")
# structured dataItems key -> upload-JSON key
STRUCTURED_KEYS = {
    "videos": "videos",
    "audio": "audio",
    "pdf": "pdfs",
    "text": "text",
    "images": "images",
    "nifti": "nifti",
    "imageGroups": "image_groups",
    "dicomSeries": "dicom_series",
}
UNSUPPORTED_STRUCTURED = ("timeSeries", "scenes", "imageGroupsFromItems")
_OBJECT_URL_N = re.compile(r"^objectUrl_(\d+)$")


class ManifestError(ValueError):
    """The upload document itself is malformed."""


def parse_upload_body(body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, bool]]:
    """(units, flags) from a ``PostUploadJobParams`` JSON body."""
    external = body.get("externalFiles", body.get("external_files"))
    structured = body.get("dataItems", body.get("data_items"))
    if external is not None and structured is not None:
        raise ManifestError("give either externalFiles or dataItems, not both")
    if external is not None:
        return parse_upload_json(external)
    if structured is not None:
        return parse_upload_json(_structured_to_upload_json(structured))
    raise ManifestError("the upload job names no files (externalFiles or dataItems)")


def parse_upload_json(doc: Any) -> tuple[list[dict[str, Any]], dict[str, bool]]:
    if not isinstance(doc, dict):
        raise ManifestError("the upload JSON must be an object with keys like 'images', 'videos', ...")
    known = set(SINGLE_KINDS) | set(MULTI_KINDS) | set(FLAGS)
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ManifestError(f"unknown top-level keys {unknown}; allowed: {sorted(known)}")
    flags = {flag: _flag(doc, flag) for flag in FLAGS}
    units: list[dict[str, Any]] = []
    for key in [*SINGLE_KINDS, *MULTI_KINDS]:
        entries = doc.get(key) or []
        if not isinstance(entries, list):
            raise ManifestError(f"'{key}' must be a list")
        for position, entry in enumerate(entries):
            source = f"{key}[{position}]"
            if key in SINGLE_KINDS:
                unit = _single_unit(key, entry, source)
            elif key == "image_groups":
                unit = _image_group_unit(entry, source)
            else:
                unit = _dicom_unit(entry, source)
            unit["index"] = len(units)
            units.append(unit)
    return units, flags


def _flag(doc: dict[str, Any], name: str) -> bool:
    value = doc.get(name, False)
    if not isinstance(value, bool):
        raise ManifestError(f"'{name}' must be true or false")
    return value


def _unit(source: str, item_type: str, urls: list[dict[str, Any]], entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": source,
        "item_type": item_type,
        "title": entry.get("title"),
        "urls": urls,
        "client_metadata": entry.get("clientMetadata", entry.get("client_metadata")) or {},
        "metadata": None,
        "error": None,
    }


def _single_unit(key: str, entry: Any, source: str) -> dict[str, Any]:
    item_type, metadata_key = SINGLE_KINDS[key]
    if not isinstance(entry, dict):
        return _bad_entry(source, item_type, "entry must be an object")
    url = entry.get("objectUrl", entry.get("object_url"))
    child = {"url": url, "title": None, "placeholder": _placeholder(entry)}
    unit = _unit(source, item_type, [child] if isinstance(url, str) else [], entry)
    if not isinstance(url, str) or not url:
        unit["error"] = "entry has no objectUrl"
        return unit
    if metadata_key is not None:
        unit["metadata"] = entry.get(metadata_key, entry.get(_snake(metadata_key)))
    if unit["title"] is None:
        unit["title"] = url_basename(url)
    return _check_unit(unit)


def _image_group_unit(entry: Any, source: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        return _bad_entry(source, "imageGroup", "entry must be an object")
    create_video = entry.get("createVideo", entry.get("create_video", False))
    item_type = "imageSequence" if create_video else "imageGroup"
    unit = _unit(source, item_type, _numbered_urls(entry), entry)
    unit["create_video"] = bool(create_video)
    if not unit["urls"]:
        unit["error"] = "image group has no objectUrl_<n> entries"
        return unit
    if create_video and len(unit["urls"]) > MAX_SEQUENCE_FRAMES:
        unit["error"] = f"image sequence has {len(unit['urls'])} frames; the limit is {MAX_SEQUENCE_FRAMES}"
        return unit
    if unit["title"] is None:
        unit["title"] = url_basename(unit["urls"][0]["url"])
    return _check_unit(unit)


def _dicom_unit(entry: Any, source: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        return _bad_entry(source, "dicomSeries", "entry must be an object")
    unit = _unit(source, "dicomSeries", _numbered_urls(entry), entry)
    if not unit["urls"]:
        unit["error"] = "DICOM series has no objectUrl_<n> entries"
    elif not unit["title"]:
        unit["error"] = "DICOM series needs a title"
    else:
        return _check_unit(unit)
    return unit


def _placeholder(entry: dict[str, Any]) -> str | None:
    """The placeholder item uuid of a file the SDK uploaded to an Encord-hosted signed URL."""
    value = entry.get("placeholderItemUuid", entry.get("placeholder_item_uuid"))
    return str(value) if value else None


def _numbered_urls(entry: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(entry.get("_urls"), list):  # already structured (from dataItems)
        return list(entry["_urls"])
    numbered = []
    for key, value in entry.items():
        match = _OBJECT_URL_N.match(key)
        if match and isinstance(value, str):
            numbered.append((int(match.group(1)), value))
    return [{"url": url, "title": None} for _, url in sorted(numbered)]


def _check_unit(unit: dict[str, Any]) -> dict[str, Any]:
    title = unit["title"]
    if not isinstance(title, str):
        unit["error"] = "title must be a string"
    elif len(title) > MAX_TITLE_CHARS:
        unit["error"] = f"title is {len(title)} characters; the limit is {MAX_TITLE_CHARS}"
    elif not isinstance(unit["client_metadata"], dict):
        unit["error"] = "clientMetadata must be an object"
    else:
        for child in unit["urls"]:
            if len(child["url"].encode("utf-8")) > MAX_URL_BYTES:
                unit["error"] = f"URL is longer than {MAX_URL_BYTES} bytes"
                break
    return unit


def _bad_entry(source: str, item_type: str, message: str) -> dict[str, Any]:
    return {"source": source, "item_type": item_type, "title": None, "urls": [], "client_metadata": {},
            "metadata": None, "error": message}  # fmt: skip


def url_basename(url: str) -> str:
    path = urllib.parse.urlsplit(url).path
    return urllib.parse.unquote(path.rstrip("/").rsplit("/", 1)[-1]) or url


def _snake(camel: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)


def _structured_to_upload_json(items: Any) -> dict[str, Any]:
    """The SDK's ``DataUploadItems`` (camelCase) expressed as the upload-JSON format."""
    if not isinstance(items, dict):
        raise ManifestError("dataItems must be an object")
    for key in UNSUPPORTED_STRUCTURED:
        if items.get(key):
            raise ManifestError(f"dataItems.{key} is not supported by the emulator")
    doc: dict[str, Any] = {
        "skip_duplicate_urls": bool(items.get("skipDuplicateUrls", items.get("skip_duplicate_urls", False))),
        "upsert_metadata": bool(items.get("upsertMetadata", items.get("upsert_metadata", False))),
    }
    for key, target in STRUCTURED_KEYS.items():
        entries = items.get(key) or []
        if target == "image_groups":
            entries = [_structured_group(entry, "images") for entry in entries]
        elif target == "dicom_series":
            entries = [_structured_group(entry, "dicomFiles") for entry in entries]
        if entries:
            doc[target] = entries
    return doc


def _structured_group(entry: dict[str, Any], children_key: str) -> dict[str, Any]:
    children = entry.get(children_key) or entry.get(_snake(children_key)) or []
    converted = dict(entry)
    converted["_urls"] = [
        {
            "url": child.get("url"),
            "title": child.get("title"),
            "metadata": child.get("imageMetadata"),
            "placeholder": _placeholder(child),
        }
        for child in children
        if isinstance(child, dict) and isinstance(child.get("url"), str)
    ]
    return converted
