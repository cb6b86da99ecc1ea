"""Manifest file formats (JSON, CSV), the entry -> objects index, and sinks that store finished files.

JSON: one object per file, one list per top-level key (`image_groups` holds both groups and sequences),
plus `skip_duplicate_urls`. Everything is written with ASCII escapes so byte counts equal char counts.
CSV: a heading row at the start of each type section. When the file holds image sequences every section
gets the `Create video` column (blank means true, so all non-sequence rows say `false`); image group
sections always carry it. Audio, PDF, text and NIfTI have no CSV form and are rejected in CSV builds.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii as quote  # type: ignore[attr-defined]
from pathlib import Path
from typing import IO, Any, Protocol

from encord_provider.manifests.datatypes import JSON_KEYS, DataType
from encord_provider.manifests.metadata import METADATA_KEYS
from encord_provider.manifests.model import Entry
from encord_provider.storage.base import ObjectStore

CSV_TYPES = frozenset(
    {DataType.VIDEO, DataType.IMAGE, DataType.IMAGE_GROUP, DataType.IMAGE_SEQUENCE, DataType.DICOM_SERIES}
)
CSV_TITLE_HEADINGS = {
    DataType.VIDEO: "Video title",
    DataType.IMAGE: "Image title",
    DataType.IMAGE_GROUP: "Image group title",
    DataType.IMAGE_SEQUENCE: "Image group title",
    DataType.DICOM_SERIES: "Series title",
}
JSON_FILE_OVERHEAD = 256  # braces, list keys and skip_duplicate_urls


class ChunkSink(Protocol):
    """Where finished files go; returns the URI under which each file can be read back."""

    def write(self, name: str, data: bytes, content_type: str) -> str: ...

    def write_file(self, name: str, source: IO[bytes], content_type: str) -> str: ...


class LocalDirSink:
    """Files in a local directory, written atomically; URIs are `file:///...`.

    Nothing is created before the first write, and `discard()` removes what this sink wrote (and the
    directories it created), so a failed run leaves no output behind."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).resolve()
        self._written: list[Path] = []
        self._created: list[Path] = []

    def _make_dirs(self, path: Path) -> None:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True)
        self._created.extend(missing)  # deepest first

    def _atomic(self, name: str, fill: Any) -> str:
        target = self.directory / name
        self._make_dirs(target.parent)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                fill(out)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._written.append(target)
        return target.as_uri()

    def write(self, name: str, data: bytes, content_type: str) -> str:
        return self._atomic(name, lambda out: out.write(data))

    def write_file(self, name: str, source: IO[bytes], content_type: str) -> str:
        return self._atomic(name, lambda out: shutil.copyfileobj(source, out))

    def discard(self) -> None:
        """Remove the files this sink wrote and the (then empty) directories it created."""
        for path in self._written:
            path.unlink(missing_ok=True)
        for directory in self._created:
            with contextlib.suppress(OSError):
                directory.rmdir()
        self._written.clear()
        self._created.clear()


class StoreSink:
    """Files written into a bucket under `prefix` through an ObjectStore."""

    def __init__(self, store: ObjectStore, prefix: str = "") -> None:
        self.store = store
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"

    def write(self, name: str, data: bytes, content_type: str) -> str:
        key = self.prefix + name
        self.store.write_bytes(key, data, content_type=content_type)
        return self.store.uri(key)

    def write_file(self, name: str, source: IO[bytes], content_type: str) -> str:
        return self.write(name, source.read(), content_type)


def json_entry(entry: Entry, title: str) -> str:
    objects = entry.objects
    if entry.data_type in (DataType.IMAGE_GROUP, DataType.IMAGE_SEQUENCE, DataType.DICOM_SERIES):
        fields = [f'"title":{quote(title)}']
        if entry.data_type is not DataType.DICOM_SERIES:
            fields.append(
                '"createVideo":true' if entry.data_type is DataType.IMAGE_SEQUENCE else '"createVideo":false'
            )
        fields.extend(f'"objectUrl_{i}":{quote(record.url)}' for i, record in enumerate(objects))
        text = ",".join(fields)
    else:
        text = f'"objectUrl":{quote(objects[0].url)},"title":{quote(title)}'
        if entry.media_metadata:
            text += f',"{METADATA_KEYS[entry.data_type]}":{json.dumps(entry.media_metadata, sort_keys=True, separators=(",", ":"), allow_nan=False)}'
    if entry.client_metadata:
        text += f',"clientMetadata":{json.dumps(entry.client_metadata, sort_keys=True, separators=(",", ":"), allow_nan=False)}'
    return "{" + text + "}"


def csv_rows(entry: Entry, title: str) -> list[tuple[str, str]]:
    return [(record.url, title) for record in entry.objects]


def csv_row_bytes(rows: list[tuple[str, str]]) -> int:
    return sum(len(url.encode()) + len(title.encode()) + 12 for url, title in rows)


def render_json(parts: dict[str, list[str]], skip_duplicate_urls: bool) -> bytes:
    """`parts`: JSON list key -> encoded entries, in the order the objects index numbers them."""
    keys = [key for key in dict.fromkeys(JSON_KEYS.values()) if parts.get(key)]
    body = ",".join(f"{quote(key)}:[{','.join(parts[key])}]" for key in keys)
    flag = "true" if skip_duplicate_urls else "false"
    return ("{" + body + ("," if body else "") + f'"skip_duplicate_urls":{flag}' + "}\n").encode("ascii")


def render_csv(parts: dict[str, list[tuple[str, str]]]) -> bytes:
    """`parts`: data type value -> (url, title) rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    any_sequences = bool(parts.get(DataType.IMAGE_SEQUENCE.value))
    for data_type in DataType:
        rows = parts.get(data_type.value)
        if not rows:
            continue
        with_flag = any_sequences or data_type is DataType.IMAGE_GROUP
        heading = ["ObjectUrl", CSV_TITLE_HEADINGS[data_type]] + (["Create video"] if with_flag else [])
        writer.writerow(heading)
        flag = ["true" if data_type is DataType.IMAGE_SEQUENCE else "false"] if with_flag else []
        writer.writerows([url, title, *flag] for url, title in rows)
    return out.getvalue().encode("utf-8")


def objects_line(index: int, section: str, position: int, entry: Entry, title: str) -> str:
    """One line of `<chunk>.objects.jsonl`: which source objects (and sidecars) make up entry `index`,
    found in the manifest at list `section` (JSON key / CSV section type), `position` within it."""
    objects = ",".join(
        f'{{"key":{quote(r.key)},"url":{quote(r.url)},"etag":{quote(r.etag)},"size":{r.size}}}'
        for r in entry.objects
    )
    sidecars = ",".join(quote(key) for key in entry.sidecar_keys or ())
    return (
        f'{{"entry":{index},"list":"{section}","position":{position},'
        f'"type":"{entry.data_type.value}","title":{quote(title)},'
        f'"objects":[{objects}],"sidecars":[{sidecars}]}}\n'
    )


def read_objects_index(lines: Iterable[str | bytes]) -> list[dict[str, Any]]:
    """Parse a `<chunk>.objects.jsonl` file (for the ledger and tests)."""
    return [json.loads(line) for line in lines if line.strip()]
