"""Encord JSON label rows, one `to_encord_dict()` per line, split into numbered chunk files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

_LINE = json.JSONEncoder(separators=(",", ":"), default=str)
"""`json.dumps(row, separators=(",", ":"), default=str)` without building an encoder per row (same text)."""


class ChunkedJsonlWriter:
    """`labels-00000.jsonl`, `labels-00001.jsonl`, ... with at most `rows_per_file` rows each."""

    def __init__(self, directory: Path, rows_per_file: int = 50_000, stem: str = "labels") -> None:
        if rows_per_file < 1:
            raise ValueError("rows_per_file must be >= 1")
        self.directory = directory
        self.rows_per_file = rows_per_file
        self.stem = stem
        self.rows = 0
        self.paths: list[Path] = []
        self._fh: TextIO | None = None
        self._rows_in_file = 0

    def _open_next(self) -> TextIO:
        path = self.directory / f"{self.stem}-{len(self.paths):05d}.jsonl"
        self.paths.append(path)
        self._rows_in_file = 0
        return path.open("w", encoding="utf-8")

    def add_row(self, row: dict[str, Any]) -> None:
        if self._fh is None or self._rows_in_file >= self.rows_per_file:
            if self._fh is not None:
                self._fh.close()
            self._fh = self._open_next()
        self._fh.write(_LINE.encode(row))
        self._fh.write("\n")
        self._rows_in_file += 1
        self.rows += 1

    def close(self) -> list[Path]:
        if self._fh is None:  # an empty version still gets one (empty) chunk so readers find the file
            self._fh = self._open_next()
        self._fh.close()
        return self.paths


def read_jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
