"""The rejection report: one JSON line per object that is not registered (key, url, reason, category)."""

from __future__ import annotations

import tempfile
from collections import Counter
from json.encoder import encode_basestring as _text  # type: ignore[attr-defined]
from typing import IO

from encord_provider.storage.records import ObjectRecord


class RejectionReport:
    """Streams rejections to a temporary file (constant memory) and counts them by category."""

    def __init__(self, spill_dir: str | None = None) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(dir=spill_dir)
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

    def rewound(self) -> IO[bytes]:
        """The report file, positioned at its start, for a sink to copy."""
        self._file.flush()
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        self._file.close()
