"""Checksums of written files and an order-independent digest of the exported source rows."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def file_sha256(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def source_digest(fingerprints: Iterable[str]) -> str:
    """sha256 over the sorted `label_hash:last_edited_at` fingerprints (same rows => same digest)."""
    return sorted_digest(sorted(fingerprints))


def sorted_digest(sorted_fingerprints: Iterable[str]) -> str:
    """`source_digest` of fingerprints that arrive already sorted (streamed from a spool)."""
    digest = hashlib.sha256()
    for fingerprint in sorted_fingerprints:
        digest.update(fingerprint.encode())
        digest.update(b"\n")
    return digest.hexdigest()
