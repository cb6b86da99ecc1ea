"""An external sort: rows of strings appended in any order, read back sorted, memory bounded by one run.

The export lists label rows in the server's order but writes membership and picks rows in label-hash
order; at 10M rows that listing does not fit in memory. Rows are buffered `run_rows` at a time, each
full buffer is sorted and written to a CSV run file, and `sorted()` merges the runs lazily.
"""

from __future__ import annotations

import csv
import heapq
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

Row = tuple[str, ...]
RUN_ROWS = 100_000


class SortedSpool:
    """Sort rows (tuples of str, compared as tuples) through run files under `directory`."""

    def __init__(self, directory: Path, name: str, run_rows: int = RUN_ROWS) -> None:
        if run_rows < 1:
            raise ValueError("run_rows must be >= 1")
        self.directory = directory
        self.name = name
        self.run_rows = run_rows
        self.rows = 0
        self._buffer: list[Row] = []
        self._runs: list[Path] = []

    def add(self, row: Row) -> None:
        self._buffer.append(row)
        self.rows += 1
        if len(self._buffer) >= self.run_rows:
            self._spill()

    def _spill(self) -> None:
        path = self.directory / f"{self.name}-run{len(self._runs):05d}.csv"
        self._buffer.sort()
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(self._buffer)
        self._runs.append(path)
        self._buffer = []

    def sorted(self) -> Iterator[Row]:
        """Every row added, in sorted order (duplicates kept). Reads the runs once; call it once."""
        if not self._runs:
            yield from sorted(self._buffer)
            return
        if self._buffer:
            self._spill()
        with ExitStack() as files:
            runs = [files.enter_context(path.open(newline="", encoding="utf-8")) for path in self._runs]
            yield from heapq.merge(*((tuple(row) for row in csv.reader(run)) for run in runs))

    def remove(self) -> None:
        """Delete the run files (the temporary directory would, this frees the disk earlier)."""
        for path in self._runs:
            path.unlink(missing_ok=True)
        self._runs = []
        self._buffer = []
