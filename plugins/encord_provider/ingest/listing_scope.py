"""Which part of the prefix a run lists: everything, or only the date partitions the watermark has not
left behind.

`listing_scope(...)` is the one decision. With `source.listing.partitions` (keys like
`dt=2024-05-01/...`) and a watermark, a LIST run asks only for partitions at or after
`watermark - partitions.safety_lag`: one StartAfter request when partitions sort like their dates (the
backend then skips every older key server-side, and future partitions are still listed), else one
prefix per partition from that bound to tomorrow. Everything else is a full listing of the prefix:
no partitions configured, no watermark yet, an inventory (read whole anyway), a manual run narrowed by
its own Params, or the periodic full listing (`full_listing_every`), which finds objects that landed
late in old partitions and objects deleted from the bucket (docs/ingestion.md, "Watermarks").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from encord_provider.config.listing import ListingConfig, PartitionConfig
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import ObjectNotFoundError

MAX_PARTITION_PREFIXES = 1000  # beyond this many prefixes, one full listing is cheaper
FULL_LISTING_FILE = "full-listing.json"


@dataclass(frozen=True)
class ListRange:
    """One listing request: keys under `prefix`, after `start_after` (exclusive) if given."""

    prefix: str
    start_after: str | None = None


@dataclass(frozen=True)
class ListingScope:
    ranges: tuple[ListRange, ...]
    full: bool  # the whole prefix is listed (so an object not listed is gone from the bucket)
    reason: str  # why it is full or where the pruned listing starts, for the run report

    def report(self) -> dict[str, object]:
        ranges = [{"prefix": r.prefix, "start_after": r.start_after} for r in self.ranges[:5]]
        return {"full": self.full, "reason": self.reason, "ranges": len(self.ranges), "first_ranges": ranges}


def whole_prefix(prefix: str, reason: str) -> ListingScope:
    return ListingScope((ListRange(prefix),), True, reason)


def listing_scope(
    prefix: str,
    listing: ListingConfig,
    watermark: datetime | None,
    last_full_listing: datetime | None,
    now: datetime | None = None,
) -> ListingScope:
    """The ranges a scheduled run lists under the configured `prefix` (see the module docstring)."""
    now = now or datetime.now(UTC)
    partitions = listing.partitions
    if partitions is None:
        return whole_prefix(prefix, "no partitions configured")
    if listing.mode != "list":
        return whole_prefix(prefix, f"listing mode {listing.mode!r} reads everything")
    if watermark is None:
        return whole_prefix(prefix, "no watermark yet")
    if last_full_listing is None or now - last_full_listing >= listing.full_listing_every:
        return whole_prefix(prefix, f"periodic full listing (every {listing.full_listing_every})")
    return partition_scope(prefix, partitions, watermark - partitions.safety_lag, now)


def partition_scope(prefix: str, partitions: PartitionConfig, bound: datetime, now: datetime) -> ListingScope:
    """Only the partitions at or after `bound` (its own partition included)."""
    first = prefix + bound.astimezone(UTC).strftime(partitions.format)
    reason = f"partitions from {first!r} (watermark - {partitions.safety_lag})"
    if partitions.key_monotonic and partitions.pruning == "start_after":
        # Every key >= `first` sorts after `first` minus its last character (the trailing '/').
        return ListingScope((ListRange(prefix, first[:-1] or None),), False, reason)
    prefixes = list(partition_prefixes(prefix, partitions.format, bound, now + timedelta(days=1)))
    if len(prefixes) > MAX_PARTITION_PREFIXES:
        return whole_prefix(
            prefix, f"more than {MAX_PARTITION_PREFIXES} partitions since {bound.isoformat()}"
        )
    return ListingScope(tuple(ListRange(p) for p in prefixes), False, reason)


def partition_prefixes(prefix: str, fmt: str, start: datetime, end: datetime) -> Iterator[str]:
    """Each distinct partition prefix from `start` to `end`, stepping by the format's finest unit."""
    step = timedelta(hours=1) if "%H" in fmt else timedelta(days=1)
    moment = start.astimezone(UTC)
    seen: set[str] = set()
    while moment <= end:
        name = prefix + moment.strftime(fmt)
        if name not in seen:
            seen.add(name)
            yield name
        moment += step


def read_last_full_listing(staging: ObjectStore, ledger_prefix: str) -> datetime | None:
    """When the last run that listed the whole prefix did so (None if never or unreadable)."""
    try:
        data = json.loads(staging.read_bytes(f"{ledger_prefix}/{FULL_LISTING_FILE}"))
        return datetime.fromisoformat(data["listed_at"])
    except (ObjectNotFoundError, ValueError, KeyError, TypeError):
        return None


def note_full_listing(
    staging: ObjectStore, ledger_prefix: str, run_id: str, at: datetime | None = None
) -> None:
    moment = (at or datetime.now(UTC)).isoformat()
    body = json.dumps({"listed_at": moment, "run_id": run_id}).encode()
    staging.write_bytes(f"{ledger_prefix}/{FULL_LISTING_FILE}", body, "application/json")
