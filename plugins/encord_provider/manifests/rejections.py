"""Reports of listed objects that are not registered, one JSON line each, streamed to a temporary file.

- `RejectionReport` (`rejections.jsonl`): objects the build refused: key, url, reason, category.
- `SkipReport` (`skipped.jsonl`): objects the listing filters skipped: key, size, last_modified, reason
  (a `SKIP_REASONS` code) and its text. Bounded: at most `max_per_reason` lines per reason (an incremental
  run may skip millions of objects seen before); the counts per reason are always complete.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from json.encoder import encode_basestring as _text  # type: ignore[attr-defined]
from typing import IO

from encord_provider.storage.filters import SKIP_REASONS
from encord_provider.storage.records import ObjectRecord

MAX_SKIPPED_LINES_PER_REASON = 10_000


class _JsonLinesSpill:
    """A temporary file of JSON lines (constant memory) that a sink copies out when the build ends."""

    def __init__(self, spill_dir: str | None = None) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(dir=spill_dir)

    def rewound(self) -> IO[bytes]:
        """The report file, positioned at its start, for a sink to copy."""
        self._file.flush()
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        self._file.close()


class RejectionReport(_JsonLinesSpill):
    """Streams rejections to a temporary file and counts them by category."""

    def __init__(self, spill_dir: str | None = None) -> None:
        super().__init__(spill_dir)
        self.count = 0
        self.by_category: Counter[str] = Counter()

    def reject(self, key: str, url: str, reason: str, category: str) -> None:
        # The text of json.dumps({"key": ..., ...}, ensure_ascii=False), without its per-call setup.
        line = (
            f'{{"key": {_text(key)}, "url": {_text(url)}, '
            f'"reason": {_text(reason)}, "category": {_text(category)}}}'
        )
        self._file.write(line.encode("utf-8") + b"\n")
        self.count += 1
        self.by_category[category] += 1

    def reject_record(self, record: ObjectRecord, reason: str, category: str) -> None:
        self.reject(record.key, record.url, reason, category)


class SkipReport(_JsonLinesSpill):
    """Streams skipped objects to a temporary file, at most `max_per_reason` lines per reason."""

    def __init__(
        self, max_per_reason: int = MAX_SKIPPED_LINES_PER_REASON, spill_dir: str | None = None
    ) -> None:
        super().__init__(spill_dir)
        self.max_per_reason = max_per_reason
        self.by_reason: Counter[str] = Counter()
        self.listed: Counter[str] = Counter()

    @property
    def count(self) -> int:
        return sum(self.by_reason.values())

    def add(self, record: ObjectRecord, reason: str) -> None:
        self.by_reason[reason] += 1
        if self.listed[reason] >= self.max_per_reason:
            return
        self.listed[reason] += 1
        line = (
            f'{{"key": {_text(record.key)}, "size": {int(record.size)}, '
            f'"last_modified": {_text(record.last_modified.isoformat())}, "reason": {_text(reason)}, '
            f'"detail": {_text(SKIP_REASONS.get(reason, reason))}}}'
        )
        self._file.write(line.encode("utf-8") + b"\n")

    @property
    def truncated(self) -> dict[str, int]:
        """Reasons whose lines were capped: reason -> objects not listed."""
        return {r: n - self.listed[r] for r, n in self.by_reason.items() if n > self.listed[r]}
