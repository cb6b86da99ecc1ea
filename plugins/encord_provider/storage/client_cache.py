"""Storage clients built once per process and reused by every store opened on the same connection.

Building a boto3 client (its session, credential chain and service model) costs about half a second, and a
task opens the source and staging stores several times (probe, plan, link, report). An Airflow 3 task
runs in a process of its own, so a per-process cache is a per-task cache; the long-lived triggerer reuses
clients across polls too.

A key names the backend, the connection (or "environment"), the endpoint, and a digest of the
connection's fields, so a rotated secret or an edited connection builds a new client. The digest is a
one-way hash: no secret is kept in a key or ever logged. Cached clients must be thread-safe (boto3,
google-cloud-storage and azure-storage-blob clients are).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_clients: dict[Hashable, Any] = {}
_lock = threading.Lock()
_stats = {"built": 0, "reused": 0}


def shared_client(key: Hashable, build: Callable[[], T]) -> T:
    """The client cached under `key`, built by `build()` the first time (once, even when threads race)."""
    with _lock:
        if key in _clients:
            _stats["reused"] += 1
            return _clients[key]  # type: ignore[no-any-return]
        client = build()
        _clients[key] = client
        _stats["built"] += 1
        return client


def fingerprint(*parts: Any) -> str:
    """A short one-way digest of connection fields (secrets included), for cache keys."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def connection_fingerprint(conn: Any) -> str:
    return fingerprint(conn.conn_type, conn.host, conn.login, conn.password, conn.port, conn.extra_dejson)


def cache_stats() -> dict[str, int]:
    """How many clients were built and how many store openings reused one (for benchmarks and tests)."""
    with _lock:
        return {**_stats, "cached": len(_clients)}


def clear() -> None:
    """Forget every cached client (tests that restart an emulator on the same endpoint)."""
    with _lock:
        _clients.clear()
        _stats.update(built=0, reused=0)
