"""The pipeline watermark: which runs may move it, and how a watermark-bounded listing uses its safety lag.

The watermark is the newest LastModified a *complete* run listed. Storage timestamps are not a
sequence: S3 stamps an upload when it starts (multipart), replication lands copies with their source
time, listings carry second precision. So a listing bounded by the watermark keeps everything modified
at or after `watermark - lag` and remembers what it already announced, instead of trusting
"newer than the watermark" (see docs/ingestion.md, "Watermarks").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from encord_provider.ledger.records import LedgerRecord, needs_submission
from encord_provider.storage.records import ObjectRecord

DEFAULT_LAG_SECONDS = 900.0  # S3 Replication Time Control's 15-minute bound


class RunScope(Protocol):
    """The manual-run options that narrow what a run lists (RunOptions satisfies it)."""

    @property
    def prefix(self) -> str | None: ...
    @property
    def since(self) -> datetime | None: ...
    @property
    def dry_run(self) -> bool: ...
    @property
    def data_types(self) -> Sequence[str]: ...
    @property
    def max_objects(self) -> int: ...


def partial_run_reason(scope: RunScope, configured_prefix: str, all_data_types: Sequence[str]) -> str | None:
    """Why a run saw only part of the pipeline, so it must leave the watermark alone; None for a full run."""
    if scope.dry_run:
        return "a dry run"
    if scope.prefix is not None and scope.prefix != configured_prefix:
        return f"prefix {scope.prefix!r}"
    if scope.since is not None:
        return f"since {scope.since.isoformat()}"
    if scope.data_types and not set(all_data_types) <= set(scope.data_types):
        return f"data_types {sorted(scope.data_types)}"
    if scope.max_objects:
        return f"max_objects {scope.max_objects}"
    return None


def _is_directory_marker(record: ObjectRecord) -> bool:
    """Only an empty object whose key ends in "/" is a folder marker; a non-empty one is data."""
    return record.key.endswith("/") and record.size == 0


def lower_bound(watermark: datetime | None, lag: timedelta) -> datetime | None:
    """The oldest LastModified a watermark-bounded listing keeps."""
    return None if watermark is None else watermark - lag


def known_etags(records: Iterable[LedgerRecord]) -> dict[str, str]:
    """Objects the ledger needs nothing more for (by etag): a poll need not announce them."""
    return {r.key: r.etag for r in records if not needs_submission(r, r.etag)}


class KnownEtags(Mapping[str, str]):
    """`known_etags` looked up one key at a time in an opened ledger (`Ledger.open`), so a poll reads only
    the snapshot blocks of the keys it listed; iterating reads the whole ledger."""

    def __init__(
        self, get: Callable[[str], LedgerRecord | None], every: Callable[[], Iterable[LedgerRecord]]
    ):
        self._get, self._every = get, every

    def __getitem__(self, key: str) -> str:
        record = self._get(key)
        if record is None or needs_submission(record, record.etag):
            raise KeyError(key)
        return record.etag

    def __iter__(self) -> Iterator[str]:
        return iter(known_etags(self._every()))

    def __len__(self) -> int:
        return len(known_etags(self._every()))


@dataclass
class PollWindow:
    """What a polling trigger has seen: a watermark, the lag below it, and what it announced within it.

    `take(listing)` returns the objects to announce: modified at or after `watermark - lag` and not
    announced before (by key and etag, so an overwritten object counts again). Everything it saw is
    remembered until it falls below the bound, which is all the memory this needs (the objects written
    within one lag). `known` (key -> etag, e.g. from the ledger) is consulted on the first take only, so
    a restarted trigger does not announce objects the pipeline already has.
    """

    watermark: datetime | None
    lag: timedelta
    known: Mapping[str, str] | None = None
    announced: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    @property
    def bound(self) -> datetime | None:
        return lower_bound(self.watermark, self.lag)

    def take(self, listing: Iterable[ObjectRecord]) -> list[ObjectRecord]:
        """Nothing is remembered if the listing fails part-way, so the next poll announces it all."""
        bound = self.bound
        unseen: list[ObjectRecord] = []
        for record in listing:
            if _is_directory_marker(record) or (bound is not None and record.last_modified < bound):
                continue
            seen = self.announced.get(record.key)
            if seen is None or seen[0] != record.etag:
                unseen.append(record)
        known = self.known if self.known is not None else {}  # (never len(): a lazy ledger reads it all)
        fresh = [r for r in unseen if known.get(r.key) != r.etag]
        for record in unseen:
            self._remember(record)
        self.known = None
        self._forget_below_bound()
        return fresh

    def _remember(self, record: ObjectRecord) -> None:
        self.announced[record.key] = (record.etag, record.last_modified)
        if self.watermark is None or record.last_modified > self.watermark:
            self.watermark = record.last_modified

    def _forget_below_bound(self) -> None:
        bound = self.bound
        if bound is None:
            return
        for key in [k for k, (_, modified) in self.announced.items() if modified < bound]:
            del self.announced[key]
