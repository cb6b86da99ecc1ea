"""`build_manifests`: records in, chunked manifest files + objects index + rejection report out.

Every input record ends in exactly one place: an entry of a written chunk (as a media object, or as the
sidecar of one), or a line of the rejection report. Objects the listing filters dropped before the build
are counted, and listed (bounded per reason) in `skipped.jsonl`, when the caller passes its SkipReport. Records are streamed; see grouping.py and
metadata.py for the ordering assumption and ordering.py for the on-disk fallback.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from encord_provider.manifests.chunker import BATCH, Chunker, ChunkInfo
from encord_provider.manifests.config import MAX_URL_BYTES, InputOrder, ManifestConfig, ManifestFormat
from encord_provider.manifests.datatypes import DataType
from encord_provider.manifests.grouping import Grouper
from encord_provider.manifests.metadata import (
    PROBES,
    MetadataError,
    Paired,
    pair_sidecars,
    read_client_metadata,
)
from encord_provider.manifests.model import Candidate, Entry
from encord_provider.manifests.ordering import checked_sorted, order_error, spill_sorted
from encord_provider.manifests.rejections import RejectionReport, SkipReport
from encord_provider.manifests.writer import CSV_TYPES, ChunkSink
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.key_order import KeyOrder, code_point_order, key_order_of
from encord_provider.storage.records import ObjectRecord
from encord_provider.storage.urls import url_key_problem

log = logging.getLogger(__name__)
_WHITESPACE = re.compile(r"\s")
REJECTIONS_NAME = "rejections.jsonl"
SKIPPED_NAME = "skipped.jsonl"
SUMMARY_NAME = "summary.json"


@dataclass
class BuildSummary:
    chunks: list[ChunkInfo]
    rejections_uri: str
    summary_uri: str = ""
    n_input: int = 0
    n_registered_objects: int = 0
    n_sidecars: int = 0
    n_entries: int = 0
    n_rejected: int = 0
    entries_by_type: dict[str, int] = field(default_factory=dict)
    rejections_by_category: dict[str, int] = field(default_factory=dict)
    probe_failures: int = 0
    split_groups: int = 0
    oversized_entries: int = 0
    metadata_conflicts: int = 0  # groups whose member sidecars differ (values kept under member_metadata)
    skipped_uri: str = ""
    n_skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    skipped_not_listed: dict[str, int] = field(default_factory=dict)  # per reason, beyond the line cap

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Build:
    def __init__(
        self, config: ManifestConfig, sink: ChunkSink, store: ObjectStore | None, key_order: KeyOrder
    ) -> None:
        self.config = config
        self.store = store
        self.key_order = key_order
        self.report = RejectionReport(config.spill_dir)
        self.chunker = Chunker(config, sink, self.reject_entry)
        csv_rows = config.max_entries if config.format is ManifestFormat.CSV else None
        self.grouper = Grouper(config, self.reject_candidate, csv_rows)
        self._counter = [0]
        self.probe_failures = 0

    # -- rejections -------------------------------------------------------------------------------
    def reject_candidate(self, candidate: Candidate, reason: str, category: str) -> None:
        self.report.reject_record(candidate.record, reason, category)
        if candidate.sidecar_key:
            self.report.reject(
                candidate.sidecar_key, "", f"sidecar of rejected {candidate.record.key}", "sidecar"
            )

    def reject_entry(self, entry: Entry, reason: str, category: str) -> None:
        for record in entry.objects:
            self.report.reject_record(record, reason, category)
        for key in entry.sidecar_keys or ():
            self.report.reject(key, "", f"sidecar of rejected entry {entry.title!r}", "sidecar")

    # -- stages -----------------------------------------------------------------------------------
    def ordered(self, records: Iterable[ObjectRecord]) -> Iterator[ObjectRecord]:
        if self.config.input_order is InputOrder.ANY:
            return spill_sorted(self._counted(records), self.config.spill_dir)
        return checked_sorted(records, self._counter, self.key_order)

    def _counted(self, records: Iterable[ObjectRecord]) -> Iterator[ObjectRecord]:
        for record in records:
            self._counter[0] += 1
            yield record

    @property
    def n_input(self) -> int:
        return self._counter[0]

    def candidates(self, records: Iterator[ObjectRecord]) -> Iterator[Candidate]:
        """Classified, validated candidates (with sidecar metadata and probes) in key order."""
        suffix = self.config.sidecar_suffix
        if suffix:
            for paired in pair_sidecars(records, suffix):
                candidate = self._from_paired(paired)
                if candidate is not None:
                    yield candidate
            return
        for record in records:
            candidate = self._classified(record, None)
            if candidate is not None:
                if self.config.probing:
                    self._probe(candidate)
                yield candidate

    def _from_paired(self, paired: Paired) -> Candidate | None:
        if paired.orphan:
            self.report.reject_record(paired.record, "sidecar without a listed object", "orphan_sidecar")
            return None
        record = paired.record
        sidecar_key = paired.sidecar.key if paired.sidecar else None
        candidate = self._classified(record, sidecar_key)
        if candidate is None:
            if paired.sidecar is not None and sidecar_key:
                self.report.reject(
                    sidecar_key, paired.sidecar.url, f"sidecar of rejected {record.key}", "sidecar"
                )
            return None
        if paired.sidecar is not None:
            try:
                candidate.client_metadata = read_client_metadata(self._require_store(), paired.sidecar)
            except MetadataError as exc:
                self.reject_candidate(candidate, str(exc), "bad_sidecar")
                return None
        if self.config.probing:
            self._probe(candidate)
        return candidate

    def _classified(self, record: ObjectRecord, sidecar_key: str | None) -> Candidate | None:
        url = record.url
        reason, category = None, ""
        if len(url.encode("utf-8")) > MAX_URL_BYTES:
            reason, category = f"URL is longer than {MAX_URL_BYTES} bytes", "url_too_long"
        elif (problem := url_key_problem(record.key, url)) is not None:
            reason, category = problem, "unsafe_url"
        kind = self.config.type_map.classify(record.key)
        if reason is None and not isinstance(kind, DataType):
            reason, category = kind, "unsupported_type"
        if reason is not None:
            self.report.reject_record(record, reason, category)
            return None
        candidate = Candidate(record, kind, sidecar_key)  # type: ignore[arg-type]
        if self.config.format is ManifestFormat.CSV and not self._csv_ok(candidate):
            return None
        return candidate

    def _csv_ok(self, candidate: Candidate) -> bool:
        kind = candidate.kind
        if kind is DataType.IMAGE:
            kind = self.grouper.group_type(kind, candidate.record.key) or kind
        if kind not in CSV_TYPES:
            self.reject_candidate(
                candidate, f"{kind.value} has no CSV manifest form; use format json", "csv_type"
            )
            return False
        if _WHITESPACE.search(candidate.record.url):
            self.reject_candidate(
                candidate, "CSV manifests cannot hold URLs with whitespace", "csv_whitespace"
            )
            return False
        return True

    def _probe(self, candidate: Candidate) -> None:
        config = self.config
        kind = candidate.kind
        wanted = {DataType.IMAGE: config.probe_images, DataType.VIDEO: config.probe_videos}
        wanted[DataType.PDF] = config.probe_pdfs
        if not wanted.get(kind) or self.grouper.group_type(kind, candidate.record.key) is not None:
            return
        store = self._require_store()
        try:
            candidate.media_metadata = PROBES[kind](store, candidate.record)
        except Exception as exc:  # hostile media can break any parser: no block is the safe answer
            self.probe_failures += 1
            log.warning("no %s metadata block for %s: %s", kind.value, candidate.record.key, exc)

    def _require_store(self) -> ObjectStore:
        if self.store is None:
            raise ValueError("sidecar metadata and probing read objects: pass store= to build_manifests")
        return self.store

    def run(self, records: Iterable[ObjectRecord]) -> None:
        config = self.config
        if config.sidecar_suffix or config.probing or config.format is ManifestFormat.CSV:
            self._run_general(self.ordered(records))
        elif config.input_order is InputOrder.ANY:
            self._run_fast(self.ordered(records), check_order=False)
        else:
            self._run_fast(records, check_order=True)
        for entry in self.grouper.finish():
            self.chunker.add(entry)
        self.chunker.finish()

    def _run_general(self, records: Iterator[ObjectRecord]) -> None:
        grouper, add = self.grouper, self.chunker.add
        for candidate in self.candidates(records):
            for entry in grouper.feed(candidate):
                add(entry)

    def _run_fast(self, records: Iterable[ObjectRecord], check_order: bool) -> None:
        """The same as `_run_general` without sidecars, probes or CSV checks, inlined for throughput
        (including the key order check of `checked_sorted`)."""
        grouper, add, chunker = self.grouper, self.chunker.add, self.chunker
        pending = chunker.pending
        queue = pending.append
        counter = self._counter
        previous = ""
        previous_rank: object = ""
        rank_of = None if self.key_order is code_point_order else self.key_order
        by_extension = self.config.type_map.by_extension
        classify = self.config.type_map.classify
        group_types = {kind: grouper.fixed_group_type(kind) for kind in DataType}
        image_group_type = grouper.image_group_type if grouper.has_image_rules else None
        image = DataType.IMAGE
        url_limit = MAX_URL_BYTES // 4
        open_groups = grouper.open_groups  # the same dict for the whole build
        # Without group_regex every scope is a parent folder, and after each key the open scopes are all
        # prefixes of its folder: a key in the same folder as the previous one closes nothing.
        parent_scopes = grouper.parent_scopes
        last_parent: str | None = None
        count = 0
        for count, record in enumerate(records, 1):  # noqa: B007
            key = record.key
            if check_order:
                rank = key if rank_of is None else rank_of(key)
                if count > 1 and rank <= previous_rank:  # type: ignore[operator]
                    raise order_error(key, previous)
                previous, previous_rank = key, rank
            url = record.url
            if len(url) > url_limit and len(url.encode("utf-8")) > MAX_URL_BYTES:
                self.report.reject_record(record, f"URL is longer than {MAX_URL_BYTES} bytes", "url_too_long")
                continue
            # A dot segment starts with '.', so only such keys (and verbatim gs:// URIs) need the full check.
            if (url[0] == "g" or key[:1] == "." or "/." in key) and (problem := url_key_problem(key, url)):
                self.report.reject_record(record, problem, "unsafe_url")
                continue
            slash = key.rfind("/")
            dot = key.rfind(".")
            kind = None
            if dot > slash + 1:
                extension = key[dot:]  # the lookup keys are lower case: try the key's own case first
                kind = by_extension.get(extension) or by_extension.get(extension.lower())
            if kind is None:
                found = classify(key)
                if not isinstance(found, DataType):
                    self.report.reject_record(record, found, "unsupported_type")
                    continue
                kind = found
            if parent_scopes:
                parent = key[: slash + 1]
                if parent != last_parent:
                    last_parent = parent
                    if open_groups:
                        for entry in grouper.close_outside(key):
                            add(entry)
            elif open_groups:
                for entry in grouper.close_outside(key):
                    add(entry)
            if image_group_type is not None and kind is image:
                group_type = image_group_type(key)
            else:
                group_type = group_types[kind]
            if group_type is None:
                queue((kind, record))
                if len(pending) >= BATCH:
                    chunker.drain()
            else:
                grouper.add_member(group_type, Candidate(record, kind))
        if check_order:
            counter[0] = count


def build_manifests(
    records: Iterable[ObjectRecord],
    config: ManifestConfig,
    sink: ChunkSink,
    store: ObjectStore | None = None,
    key_order: KeyOrder | None = None,
    skipped: SkipReport | None = None,
) -> BuildSummary:
    """Write chunked manifests, their `<chunk>.objects.jsonl` indexes, `rejections.jsonl`,
    `skipped.jsonl` (with `skipped`: the SkipReport the listing filters fed) and `summary.json` through
    `sink`. `store` is needed only for sidecars and probing. Sorted input is checked in `key_order`: the
    listing backend's (default: `store.key_order`, else code point order)."""
    if config.format is ManifestFormat.CSV and (config.sidecar_suffix or config.probing):
        raise ValueError("CSV manifests carry no metadata: sidecars and probing need format json")
    build = _Build(config, sink, store, key_order or key_order_of(store))
    try:
        build.run(records)
        rejections_uri = sink.write_file(REJECTIONS_NAME, build.report.rewound(), "application/x-ndjson")
    finally:
        build.report.close()
    summary = _summarise(build, rejections_uri)
    if skipped is not None:
        summary.skipped_uri = sink.write_file(SKIPPED_NAME, skipped.rewound(), "application/x-ndjson")
        summary.n_skipped = skipped.count
        summary.skipped_by_reason = dict(skipped.by_reason)
        summary.skipped_not_listed = skipped.truncated
    summary.summary_uri = sink.write(
        SUMMARY_NAME, json.dumps(summary.to_dict(), indent=2).encode(), "application/json"
    )
    return summary


def _summarise(build: _Build, rejections_uri: str) -> BuildSummary:
    chunks = build.chunker.chunks
    by_type: Counter[str] = Counter()
    for chunk in chunks:
        by_type.update(chunk.counts)
    return BuildSummary(
        chunks=chunks,
        rejections_uri=rejections_uri,
        n_input=build.n_input,
        n_registered_objects=sum(chunk.n_objects for chunk in chunks),
        n_sidecars=sum(chunk.n_sidecars for chunk in chunks),
        n_entries=sum(chunk.n_entries for chunk in chunks),
        n_rejected=build.report.count,
        entries_by_type=dict(by_type),
        rejections_by_category=dict(build.report.by_category),
        probe_failures=build.probe_failures,
        split_groups=build.grouper.split_groups,
        metadata_conflicts=build.grouper.metadata_conflicts,
        oversized_entries=build.chunker.oversized_entries,
    )
