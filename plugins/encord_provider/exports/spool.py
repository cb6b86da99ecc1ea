"""An external sort: rows of strings appended in any order, read back sorted, memory bounded by one run.

The export lists label rows in the server's order but writes membership and picks rows in label-hash
order; at 10M rows that listing does not fit in memory. Rows are buffered `run_rows` at a time, each
full buffer is sorted and written to a CSV run file, and `sorted()` merges the runs lazily, at most
`MAX_FAN_IN` files at once (more runs are first merged into bigger ones).
"""

from __future__ import annotations

import csv
import heapq
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path

Row = tuple[str, ...]
RUN_ROWS = 50_000  # ~16 MB of 3-string rows
MAX_FAN_IN = 64  # run files merged at once (open files, one read buffer each)


class SortedSpool:
    """Sort rows (tuples of str, compared as tuples) through run files under `directory`."""

    def __init__(self, directory: Path, name: str, run_rows: int | None = None) -> None:
        self.run_rows = RUN_ROWS if run_rows is None else run_rows
        if self.run_rows < 1:
            raise ValueError("run_rows must be >= 1")
        self.directory = directory
        self.name = name
        self.rows = 0
        self._buffer: list[Row] = []
        self._runs: list[Path] = []
        self._written = 0

    def add(self, row: Row) -> None:
        self._buffer.append(row)
        self.rows += 1
        if len(self._buffer) >= self.run_rows:
            self._spill()

    def _spill(self) -> None:
        self._buffer.sort()
        self._runs.append(self._write_run(self._buffer))
        self._buffer = []

    def _write_run(self, rows: Iterable[Row]) -> Path:
        path = self.directory / f"{self.name}-run{self._written:05d}.csv"
        self._written += 1
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
        return path

    def _merged(self, runs: list[Path]) -> Iterator[Row]:
        with ExitStack() as files:
            opened = [files.enter_context(path.open(newline="", encoding="utf-8")) for path in runs]
            yield from heapq.merge(*((tuple(row) for row in csv.reader(run)) for run in opened))

    def sorted(self) -> Iterator[Row]:
        """Every row added, in sorted order (duplicates kept). Reads the runs once; call it once."""
        if not self._runs:
            yield from sorted(self._buffer)
            return
        if self._buffer:
            self._spill()
        while len(self._runs) > MAX_FAN_IN:  # merge the oldest runs into one, until one merge can read all
            group, self._runs = self._runs[:MAX_FAN_IN], self._runs[MAX_FAN_IN:]
            self._runs.append(self._write_run(self._merged(group)))
            for path in group:
                path.unlink()
        yield from self._merged(self._runs)

    def remove(self) -> None:
        """Delete the run files (the temporary directory would, this frees the disk earlier)."""
        for path in self._runs:
            path.unlink(missing_ok=True)
        self._runs = []
        self._buffer = []
