"""Listed objects -> chunked Encord upload-JSON manifests plus their ChunkPlans.

Uses `encord_provider.manifests.build_manifests` when that package provides it; until then (or when it is
missing in a deployment) a small built-in builder covers the common kinds: one entry per image, video,
audio, PDF, text or NIfTI file, and one DICOM series per folder of `.dcm` files. Every object ends up in an
entry or in `rejections` with a reason; nothing is dropped silently.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from encord_provider.operators.ingest_chunks import PlannedObject
from encord_provider.storage.records import ObjectRecord

MAX_TITLE = 300
MAX_URL_BYTES = 16 * 1024
KIND_BY_EXTENSION: dict[str, str] = {
    **dict.fromkeys((".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"), "image"),
    **dict.fromkeys((".mp4", ".mov", ".webm", ".avi", ".mkv"), "video"),
    **dict.fromkeys((".wav", ".mp3", ".flac", ".m4a", ".aac", ".ogg"), "audio"),
    ".pdf": "pdf",
    **dict.fromkeys((".txt", ".md", ".csv", ".html", ".xml", ".json", ".jsonl"), "text"),
    **dict.fromkeys((".nii", ".nii.gz"), "nifti"),
    ".dcm": "dicom",
}
MANIFEST_KEY = {"image": "images", "video": "videos", "audio": "audio", "pdf": "pdfs", "text": "text",
                "nifti": "nifti", "dicom": "dicom_series"}  # fmt: skip


def kind_of(key: str) -> str | None:
    lower = key.lower()
    if lower.endswith(".nii.gz"):
        return "nifti"
    return KIND_BY_EXTENSION.get(posixpath.splitext(lower)[1])


@dataclass
class BuiltChunk:
    """One chunk: the upload-JSON document and the objects of each entry by title."""

    manifest: dict[str, Any]
    entries: dict[str, list[PlannedObject]]


@dataclass
class BuildResult:
    chunks: list[BuiltChunk] = field(default_factory=list)
    rejections: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (etag, reason)


def _entry_problem(title: str, urls: list[str]) -> str | None:
    if len(title) > MAX_TITLE:
        return f"title is {len(title)} characters (Encord allows {MAX_TITLE})"
    for url in urls:
        if len(url.encode()) > MAX_URL_BYTES:
            return f"URL is {len(url.encode())} bytes (Encord allows {MAX_URL_BYTES})"
    return None


def _group_entries(
    records: Iterable[ObjectRecord], result: BuildResult
) -> list[tuple[str, str, dict[str, Any], list[PlannedObject]]]:
    """(kind, title, entry, objects) in listing order; DICOM files grouped by folder."""
    singles: list[tuple[str, str, dict[str, Any], list[PlannedObject]]] = []
    series: dict[str, list[ObjectRecord]] = defaultdict(list)
    for record in records:
        kind = kind_of(record.key)
        if kind is None:
            result.rejections[record.key] = (record.etag, "unsupported file type for Encord registration")
        elif kind == "dicom":
            series[posixpath.dirname(record.key) or "/"].append(record)
        else:
            entry = {"objectUrl": record.url, "title": record.key}
            singles.append((kind, record.key, entry, [PlannedObject(record.key, record.etag, record.url)]))
    for folder, members in series.items():
        members.sort(key=lambda r: r.key)
        entry: dict[str, Any] = {"title": folder}
        entry.update({f"objectUrl_{i}": r.url for i, r in enumerate(members)})
        singles.append(("dicom", folder, entry, [PlannedObject(r.key, r.etag, r.url) for r in members]))
    return singles


def build_chunks(records: Iterable[ObjectRecord], max_entries: int, per_type: dict[str, int]) -> BuildResult:
    """Chunk entries so no chunk exceeds `max_entries`, nor `per_type[kind]` entries of one kind."""
    result = BuildResult()
    current: BuiltChunk | None = None
    counts: dict[str, int] = defaultdict(int)
    for kind, title, entry, objects in _group_entries(records, result):
        problem = _entry_problem(title, [o.url for o in objects])
        if problem:
            for obj in objects:
                result.rejections[obj.key] = (obj.etag, problem)
            continue
        limit = min(max_entries, per_type.get(kind, max_entries))
        if current is None or len(current.entries) >= max_entries or counts[kind] >= limit:
            current = BuiltChunk(manifest={"skip_duplicate_urls": True}, entries={})
            counts = defaultdict(int)
            result.chunks.append(current)
        current.manifest.setdefault(MANIFEST_KEY[kind], []).append(entry)
        current.entries[title] = objects
        counts[kind] += 1
    return result
