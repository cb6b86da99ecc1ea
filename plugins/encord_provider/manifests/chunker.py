"""Chunking: entries fill manifest files up to every limit and are flushed to the sink as soon as full.

A chunk is full when one more entry would break any of: `max_entries`; the per-type budget (an entry of
type T uses 1/per_type[T] of a chunk, so 50 videos + 500 images fill one chunk with defaults 100/1,000);
`max_urls`; `max_manifest_bytes`; `max_media_bytes` (sum of object sizes, the upload-batch budget).
An entry that can never fit (too many URLs or bytes for one file) is rejected object by object; one whose
media alone exceeds the batch budget gets a chunk of its own (`oversize_policy=own_chunk`) or is rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from encord_provider.manifests.config import ManifestConfig, ManifestFormat, OversizePolicy
from encord_provider.manifests.datatypes import JSON_KEYS, DataType
from encord_provider.manifests.model import Entry
from encord_provider.manifests.titles import MAX_TITLE_CHARS, TitleRegistry, title_for_key
from encord_provider.manifests.writer import (
    JSON_FILE_OVERHEAD,
    ChunkSink,
    csv_row_bytes,
    csv_rows,
    json_entry,
    objects_line,
    quote,
    render_csv,
    render_json,
)
from encord_provider.storage.records import ObjectRecord

RejectEntry = Callable[[Entry, str, str], None]
_EPSILON = 1e-9
_ONE = 1.0 + _EPSILON
BATCH = 1024


@dataclass(frozen=True)
class ChunkInfo:
    """A written manifest chunk: small enough to pass as an XCom (use `to_dict` / `from_dict`)."""

    index: int
    uri: str
    objects_uri: str
    format: str
    counts: dict[str, int]
    n_entries: int
    n_objects: int
    n_sidecars: int
    media_bytes: int
    manifest_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ChunkInfo:
        return cls(**values)


class _OpenChunk:
    __slots__ = (
        "parts", "section_entries", "index_lines", "titles", "counts", "load",
        "n_urls", "n_bytes", "n_sidecars", "media_bytes",
    )  # fmt: skip

    def __init__(self) -> None:
        self.parts: dict[str, list[Any]] = {}  # JSON list key / CSV section type -> encoded entries
        self.section_entries: dict[str, int] = {}
        self.index_lines: list[str] = []
        self.titles = TitleRegistry()
        self.counts: dict[DataType, int] = {}
        self.load = 0.0
        self.n_urls = 0
        self.n_bytes = JSON_FILE_OVERHEAD
        self.n_sidecars = 0
        self.media_bytes = 0

    @property
    def n_entries(self) -> int:
        return len(self.index_lines)


class Chunker:
    """Routes entries into open chunks (one, or one per type when `mix_types` is off) and flushes them."""

    def __init__(self, config: ManifestConfig, sink: ChunkSink, reject_entry: RejectEntry) -> None:
        self._config = config
        self._sink = sink
        self._reject_entry = reject_entry
        self._csv = config.format is ManifestFormat.CSV
        self._max_urls = min(config.max_urls, config.max_entries) if self._csv else config.max_urls
        self._weights = {t: 1.0 / config.entry_limit(t) for t in DataType}
        self._open: dict[DataType | None, _OpenChunk] = {}
        self.pending: list[tuple[DataType, ObjectRecord]] = []
        self._mix = config.mix_types
        self._strip = config.title_strip_prefix
        self._max_entries = config.max_entries
        self._max_bytes = config.max_manifest_bytes
        self._max_media = config.max_media_bytes
        self._sections = {t: JSON_KEYS[t] for t in DataType}
        self._values = {t: t.value for t in DataType}
        # Per kind for `_add_batch`: (weight, list key, objects-index text between position and title).
        self._single_parts = {
            t: (self._weights[t], JSON_KEYS[t], f',"type":"{t.value}","title":') for t in DataType
        }
        # URL + key lengths below which a single entry surely fits an empty file (escapes may grow 6x).
        self._small_entry = (config.max_manifest_bytes - JSON_FILE_OVERHEAD - 256) // 8
        self.chunks: list[ChunkInfo] = []
        self.oversized_entries = 0

    def add(self, entry: Entry) -> None:
        if self.pending:
            self.drain()
        config = self._config
        lane = None if config.mix_types else entry.data_type
        n_urls = len(entry.objects)
        media = entry.media_bytes
        encoded = self._encode(entry, entry.title)
        size = csv_row_bytes(encoded) if self._csv else len(encoded) + 1
        if n_urls > self._max_urls or size + JSON_FILE_OVERHEAD + 64 > config.max_manifest_bytes:
            reason = f"entry {entry.title!r} ({n_urls} URLs, {size} bytes) cannot fit in one manifest file"
            self._reject_entry(entry, reason, "entry_too_large")
            return
        oversized = media > config.max_media_bytes
        if oversized and config.oversize_policy is OversizePolicy.REJECT:
            reason = f"{media} bytes of media exceed the {config.max_media_bytes}-byte upload batch limit"
            self._reject_entry(entry, reason, "batch_too_large")
            return
        chunk = self._open.get(lane)
        if chunk is not None and (oversized or not self._fits(chunk, entry.data_type, n_urls, size, media)):
            self._flush(lane)
            chunk = None
        if chunk is None:
            chunk = self._open[lane] = _OpenChunk()
        self._append(chunk, entry, encoded, n_urls, size, media)
        if oversized:
            self.oversized_entries += 1
            self._flush(lane)

    def add_single(self, kind: DataType, record: ObjectRecord) -> None:
        """A single-object entry without metadata (the bulk of most buckets): queued, then added in
        batches by `drain` (`add` and `finish` drain first, so entry order is kept)."""
        pending = self.pending
        pending.append((kind, record))
        if len(pending) >= BATCH:
            self.drain()

    def drain(self) -> None:
        if not self.pending:
            return
        pending = list(self.pending)
        self.pending.clear()  # the same list object stays in use (callers may hold its append)
        if self._mix and not self._csv and not self._strip:
            self._add_batch(pending)
        else:
            for kind, record in pending:
                self._add_single_now(kind, record)

    def _add_batch(self, pending: list[tuple[DataType, ObjectRecord]]) -> None:
        """`_add_single_now` for many records with the open chunk's counters held in locals."""
        single_parts = self._single_parts
        max_entries, max_urls, max_bytes, max_media = (
            self._max_entries,
            self._max_urls,
            self._max_bytes,
            self._max_media,
        )
        small, max_title, one = self._small_entry, MAX_TITLE_CHARS, _ONE
        chunk = self._open.get(None) or self._open.setdefault(None, _OpenChunk())
        parts, seen, index, counts = chunk.parts, chunk.titles.seen, chunk.index_lines, chunk.counts
        load, n_urls, n_bytes, media = chunk.load, chunk.n_urls, chunk.n_bytes, chunk.media_bytes
        for kind, record in pending:
            key = record.key
            url = record.url
            size = record.size
            key_chars = len(key)
            if key_chars > max_title or size > max_media or key in seen or len(url) + key_chars > small:
                chunk.load, chunk.n_urls, chunk.n_bytes, chunk.media_bytes = load, n_urls, n_bytes, media
                self._add_single_now(kind, record)
                chunk = self._open.get(None) or self._open.setdefault(None, _OpenChunk())
                parts, seen, index, counts = chunk.parts, chunk.titles.seen, chunk.index_lines, chunk.counts
                load, n_urls, n_bytes, media = chunk.load, chunk.n_urls, chunk.n_bytes, chunk.media_bytes
                continue
            weight, section, type_title = single_parts[kind]
            qurl = quote(url)
            qkey = quote(key)
            text = f'{{"objectUrl":{qurl},"title":{qkey}}}'
            size_bytes = len(text) + 1
            entry = len(index)
            if (
                entry >= max_entries
                or load + weight > one
                or n_urls >= max_urls
                or n_bytes + size_bytes + 64 > max_bytes
                or media + size > max_media
            ):
                chunk.load, chunk.n_urls, chunk.n_bytes, chunk.media_bytes = load, n_urls, n_bytes, media
                self._flush(None)
                chunk = self._open[None] = _OpenChunk()
                parts, seen, index, counts = chunk.parts, chunk.titles.seen, chunk.index_lines, chunk.counts
                load, n_urls, n_bytes, media, entry = 0.0, 0, chunk.n_bytes, 0, 0
            seen.add(key)
            part = parts.get(section)
            if part is None:
                part = parts[section] = []
            index.append(
                f'{{"entry":{entry},"list":"{section}","position":{len(part)}{type_title}'
                f'{qkey},"objects":[{{"key":{qkey},"url":{qurl},"etag":{quote(record.etag)},'
                f'"size":{size}}}],"sidecars":[]}}\n'
            )
            part.append(text)
            counts[kind] = counts.get(kind, 0) + 1
            load += weight
            n_urls += 1
            n_bytes += size_bytes
            media += size
        chunk.load, chunk.n_urls, chunk.n_bytes, chunk.media_bytes = load, n_urls, n_bytes, media

    def _add_single_now(self, kind: DataType, record: ObjectRecord) -> None:
        key = record.key
        size = record.size
        if (
            self._csv
            or self._strip
            or len(key) > MAX_TITLE_CHARS
            or size > self._max_media
            or len(record.url) + len(key) > self._small_entry
        ):
            self.add(Entry(kind, title_for_key(key, self._config.title_strip_prefix), [record]))
            return
        lane = None if self._mix else kind
        chunk = self._open.get(lane)
        weight = self._weights[kind]
        qurl = quote(record.url)
        qkey = quote(key)
        text = '{"objectUrl":' + qurl + ',"title":' + qkey + "}"
        n_bytes = len(text) + 1
        if chunk is not None and not (
            len(chunk.index_lines) < self._max_entries
            and chunk.load + weight <= _ONE
            and chunk.n_urls < self._max_urls
            and chunk.n_bytes + n_bytes + 64 <= self._max_bytes
            and chunk.media_bytes + size <= self._max_media
        ):
            self._flush(lane)
            chunk = None
        if chunk is None:
            chunk = self._open[lane] = _OpenChunk()
        seen = chunk.titles.seen
        if key in seen:
            self._append(chunk, Entry(kind, key, [record]), text, 1, n_bytes, size)
            return
        seen.add(key)
        section = self._sections[kind]
        part = chunk.parts.get(section)
        if part is None:
            part = chunk.parts[section] = []
        position = len(part)
        part.append(text)
        index = chunk.index_lines
        index.append(
            f'{{"entry":{len(index)},"list":"{section}","position":{position},"type":"{self._values[kind]}",'
            f'"title":{qkey},"objects":[{{"key":{qkey},"url":{qurl},"etag":{quote(record.etag)},'
            f'"size":{size}}}],"sidecars":[]}}\n'
        )
        counts = chunk.counts
        counts[kind] = counts.get(kind, 0) + 1
        chunk.load += weight
        chunk.n_urls += 1
        chunk.n_bytes += n_bytes
        chunk.media_bytes += size

    def finish(self) -> list[ChunkInfo]:
        self.drain()
        for lane in list(self._open):
            self._flush(lane)
        return self.chunks

    def _encode(self, entry: Entry, title: str) -> Any:
        return csv_rows(entry, title) if self._csv else json_entry(entry, title)

    def _fits(self, chunk: _OpenChunk, data_type: DataType, n_urls: int, size: int, media: int) -> bool:
        config = self._config
        return (
            chunk.n_entries < config.max_entries
            and chunk.load + self._weights[data_type] <= 1.0 + _EPSILON
            and chunk.n_urls + n_urls <= self._max_urls
            and chunk.n_bytes + size + 64 <= config.max_manifest_bytes
            and chunk.media_bytes + media <= config.max_media_bytes
        )

    def _append(
        self, chunk: _OpenChunk, entry: Entry, encoded: Any, n_urls: int, size: int, media: int
    ) -> None:
        title = chunk.titles.claim(entry.title, entry.objects[0].key)
        if title != entry.title:
            encoded = self._encode(entry, title)
            size = csv_row_bytes(encoded) if self._csv else len(encoded) + 1
        data_type = entry.data_type
        section = data_type.value if self._csv else JSON_KEYS[data_type]
        part = chunk.parts.get(section)
        if part is None:
            part = chunk.parts[section] = []
        if self._csv:  # a CSV part holds rows (several per group entry): count entries apart
            position = chunk.section_entries.get(section, 0)
            chunk.section_entries[section] = position + 1
            part.extend(encoded)
        else:  # one encoded entry per item, also from the single-entry fast paths that bypass _append
            position = len(part)
            part.append(encoded)
        chunk.index_lines.append(objects_line(chunk.n_entries, section, position, entry, title))
        chunk.counts[data_type] = chunk.counts.get(data_type, 0) + 1
        chunk.load += self._weights[data_type]
        chunk.n_urls += n_urls
        chunk.n_bytes += size
        chunk.media_bytes += media
        chunk.n_sidecars += len(entry.sidecar_keys or ())

    def _flush(self, lane: DataType | None) -> None:
        chunk = self._open.pop(lane, None)
        if chunk is None or not chunk.n_entries:
            return
        index = len(self.chunks)
        name = f"{self._config.chunk_prefix}{index:05d}"
        if self._csv:
            data, ext, content_type = render_csv(chunk.parts), "csv", "text/csv"
        else:
            data = render_json(chunk.parts, self._config.skip_duplicate_urls)
            ext, content_type = "json", "application/json"
        uri = self._sink.write(f"{name}.{ext}", data, content_type)
        index_data = "".join(chunk.index_lines).encode("ascii")
        objects_uri = self._sink.write(f"{name}.objects.jsonl", index_data, "application/x-ndjson")
        self.chunks.append(
            ChunkInfo(
                index=index,
                uri=uri,
                objects_uri=objects_uri,
                format=ext,
                counts={t.value: n for t, n in chunk.counts.items()},
                n_entries=chunk.n_entries,
                n_objects=chunk.n_urls,
                n_sidecars=chunk.n_sidecars,
                media_bytes=chunk.media_bytes,
                manifest_bytes=len(data),
            )
        )
