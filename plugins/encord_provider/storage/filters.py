"""Which listed objects to keep, decided one record at a time while the listing streams.

Every record that is dropped is counted under a reason in `FilterStats` and handed to its `on_skip` hook
(the manifest build's `skipped.jsonl`), so a run can account for each listed object: kept, or skipped with
a reason (`SKIP_REASONS`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from encord_provider.storage.base import ObjectStore
from encord_provider.storage.records import ObjectRecord

_ANY_DEPTH = "\x00"  # placeholder while translating '**'

SKIP_REASONS = {
    "outside_prefix": "key is outside the listed prefix",
    "before_start_after": "key sorts at or before start_after",
    "directory_marker": "zero-byte object whose key ends in '/' (a folder placeholder)",
    "sidecar": "sidecar file: metadata of another object, never registered itself",
    "not_included": "key matches none of the include patterns",
    "excluded": "key matches an exclude pattern",
    "extension": "extension is not one of the configured extensions",
    "too_small": "smaller than min_size",
    "too_large": "larger than max_size",
    "before_watermark": "modified before the previous run's watermark (seen by an earlier run)",
    "too_recent": "modified after the listing's upper bound (left for the next run)",
    "data_type": "data type not selected for this run",
    "already_in_ledger": "already registered, rejected or in flight (ledger)",
    "max_objects": "beyond this run's max_objects",
}
SkipHook = Callable[[ObjectRecord, str], None]


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a path glob: `*` and `?` stay inside one path segment, `**` crosses `/`, `[...]` is a set.

    A pattern without `/` is matched against the last path segment (so `*.jpg` matches at any depth);
    a pattern with `/` is matched against the whole key.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace(r"\-", "-")
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    regex = "".join(out)
    if "/" not in pattern:
        regex = f"(?:.*/)?{regex}"
    return re.compile(f"^{regex}$", re.DOTALL)


def _compile(patterns: Sequence[str], regexes: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    compiled = [glob_to_regex(p) for p in patterns]
    for regex in regexes:
        try:
            compiled.append(re.compile(regex))
        except re.error as err:
            raise ValueError(f"invalid regular expression {regex!r}: {err}") from err
    return tuple(compiled)


@dataclass(frozen=True)
class ListingFilter:
    """What to keep from a listing.

    - `prefix` / `start_after`: also passed to the store so the server skips what it can; `start_after`
      is exclusive and suits lexicographically ordered keys such as `dt=2024-05-01/...` partitions.
    - `include` / `exclude`: path globs (see `glob_to_regex`); `include_regex` / `exclude_regex`: Python
      regular expressions searched in the key. An object must match some include (if any are given) and
      no exclude.
    - `min_size` / `max_size`: inclusive bounds in bytes.
    - `modified_since`: watermark of the previous run; objects modified at or after
      `modified_since - safety_lag` are kept. The lag re-admits objects whose timestamp predates the
      watermark but which became visible after it (S3 stamps an upload's start); duplicates this lets
      through are caught downstream (`skip_duplicate_urls`, the ledger).
    - `modified_before`: exclusive upper bound, e.g. the listing start minus the lag, so objects still
      being written are left for the next run.
    - `extensions`: keep only keys ending in one of these (case-insensitive, e.g. `(".jpg", ".mp4")`).
    - `skip_directory_markers`: drop zero-byte keys ending in `/` (console-created "folders"). A key
      ending in `/` that holds bytes is an object like any other: it is kept (and typed or rejected later).
    - `sidecar_suffixes`: drop our own sidecar files, e.g. `(".encord.json",)`.
    """

    prefix: str = ""
    start_after: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_regex: tuple[str, ...] = ()
    exclude_regex: tuple[str, ...] = ()
    min_size: int | None = None
    max_size: int | None = None
    modified_since: datetime | None = None
    modified_before: datetime | None = None
    safety_lag: timedelta = timedelta(0)
    extensions: tuple[str, ...] = ()
    skip_directory_markers: bool = True
    sidecar_suffixes: tuple[str, ...] = ()
    _includes: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _excludes: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in (
            "include",
            "exclude",
            "include_regex",
            "exclude_regex",
            "sidecar_suffixes",
            "extensions",
        ):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))
            else:
                object.__setattr__(self, name, tuple(value))
        if self.min_size is not None and self.max_size is not None and self.min_size > self.max_size:
            raise ValueError(f"min_size {self.min_size} is larger than max_size {self.max_size}")
        for name in ("modified_since", "modified_before"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
        if self.safety_lag < timedelta(0):
            raise ValueError(f"safety_lag must not be negative, got {self.safety_lag}")
        object.__setattr__(self, "_includes", _compile(self.include, self.include_regex))
        object.__setattr__(self, "_excludes", _compile(self.exclude, self.exclude_regex))
        object.__setattr__(self, "extensions", tuple(ext.lower() for ext in self.extensions))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ListingFilter:
        """Build from config (e.g. YAML): `safety_lag` may be seconds, datetimes may be ISO strings."""
        known = {f.name for f in cls.__dataclass_fields__.values() if f.init}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown listing filter option(s) {unknown}; expected some of {sorted(known)}")
        kwargs = dict(values)
        if isinstance(kwargs.get("safety_lag"), int | float):
            kwargs["safety_lag"] = timedelta(seconds=kwargs["safety_lag"])
        for name in ("modified_since", "modified_before"):
            if isinstance(kwargs.get(name), str):
                kwargs[name] = datetime.fromisoformat(kwargs[name])
        return cls(**kwargs)

    @property
    def lower_bound(self) -> datetime | None:
        """The earliest `last_modified` that is kept."""
        return None if self.modified_since is None else self.modified_since - self.safety_lag

    def reject_reason(self, record: ObjectRecord) -> str | None:
        """None if `record` is kept, else a short reason such as `"exclude"` or `"too_small"`."""
        key = record.key
        if not key.startswith(self.prefix):
            return "outside_prefix"
        if self.start_after is not None and key <= self.start_after:
            return "before_start_after"
        if self.skip_directory_markers and key.endswith("/") and record.size == 0:
            return "directory_marker"
        if self.sidecar_suffixes and key.endswith(self.sidecar_suffixes):
            return "sidecar"
        if self._includes and not any(p.search(key) for p in self._includes):
            return "not_included"
        if any(p.search(key) for p in self._excludes):
            return "excluded"
        if self.extensions and not key.lower().endswith(self.extensions):
            return "extension"
        return self._reject_by_metadata(record)

    def _reject_by_metadata(self, record: ObjectRecord) -> str | None:
        if self.min_size is not None and record.size < self.min_size:
            return "too_small"
        if self.max_size is not None and record.size > self.max_size:
            return "too_large"
        lower = self.lower_bound
        if lower is not None and record.last_modified < lower:
            return "before_watermark"
        if self.modified_before is not None and record.last_modified >= self.modified_before:
            return "too_recent"
        return None

    def apply(
        self,
        records: Iterable[ObjectRecord],
        stats: FilterStats | None = None,
        more: Callable[[ObjectRecord], str | None] | None = None,
    ) -> Iterator[ObjectRecord]:
        """Stream the kept records; count every record in `stats` if given. `more` adds the caller's own
        checks (a reason, e.g. "already_in_ledger", or None), run on records this filter keeps."""
        for record in records:
            reason = self.reject_reason(record)
            if reason is None and more is not None:
                reason = more(record)
            if stats is not None:
                stats.observe(record, reason)
            if reason is None:
                yield record


@dataclass
class FilterStats:
    """Counts of a filtered listing: seen, kept, skipped per reason, and the newest kept timestamp.
    `on_skip(record, reason)`, if set, receives every skipped record (e.g. `SkipReport.add`)."""

    seen: int = 0
    kept: int = 0
    kept_bytes: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    max_last_modified: datetime | None = None
    on_skip: SkipHook | None = field(default=None, repr=False, compare=False)

    def observe(self, record: ObjectRecord, reason: str | None) -> None:
        self.seen += 1
        if reason is not None:
            self.skipped[reason] += 1
            if self.on_skip is not None:
                self.on_skip(record, reason)
            return
        self.kept += 1
        self.kept_bytes += record.size
        if self.max_last_modified is None or record.last_modified > self.max_last_modified:
            self.max_last_modified = record.last_modified

    def as_dict(self) -> dict[str, object]:
        newest = self.max_last_modified.isoformat() if self.max_last_modified else None
        return {
            "seen": self.seen,
            "kept": self.kept,
            "kept_bytes": self.kept_bytes,
            "skipped": dict(self.skipped),
            "max_last_modified": newest,
        }


def list_filtered(
    store: ObjectStore, listing_filter: ListingFilter, stats: FilterStats | None = None
) -> Iterator[ObjectRecord]:
    """List `store` under the filter's prefix from its `start_after`, keeping what the filter keeps."""
    records = store.list_objects(prefix=listing_filter.prefix, start_after=listing_filter.start_after)
    return listing_filter.apply(records, stats)
