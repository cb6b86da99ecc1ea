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
    digest = hashlib.sha256()
    for fingerprint in sorted(fingerprints):
        digest.update(fingerprint.encode())
        digest.update(b"\n")
    return digest.hexdigest()
