"""Fault injection: a share of 429 / 5xx answers and added latency per endpoint pattern.

A rule matches a request key with ``re.search``. Keys are ``"<METHOD> <path>"`` for v2 routes
(e.g. ``"GET /v2/public/storage/folders/…/items"``) and ``"RPC <resource_type>:<query_type>:<METHOD>"``
for legacy calls (e.g. ``"RPC dataset:datasetlinkitems:POST"``). Decisions are deterministic:
the n-th request matching rule i fails iff hash(seed, i, n) falls below the rule's rate.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from encord_emulator.errors import EmulatorError


@dataclass
class FaultRule:
    pattern: str
    error_rate: float = 0.0
    status: int = 503
    latency_ms: int = 0
    retry_after: int = 0
    max_faults: int | None = None
    _regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"fault rule {self.pattern!r}: error_rate must be within 0..1")
        if self.status not in (429, 500, 502, 503, 504):
            raise ValueError(f"fault rule {self.pattern!r}: status must be 429 or 5xx")
        self._regex = re.compile(self.pattern)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaultRule:
        known = {"pattern", "error_rate", "status", "latency_ms", "retry_after", "max_faults"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"fault rule has unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
        if "pattern" not in raw:
            raise ValueError("fault rule needs a 'pattern'")
        return cls(**raw)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "error_rate": self.error_rate,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "retry_after": self.retry_after,
            "max_faults": self.max_faults,
        }


class FaultInjector:
    """Holds the active rules and counts how many requests each matched and failed."""

    def __init__(self, rules: list[FaultRule] | None = None, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = rules or []
        self.seed = seed
        self.matched: list[int] = [0] * len(self.rules)
        self.injected: list[int] = [0] * len(self.rules)

    def configure(self, config: dict[str, Any]) -> None:
        """Replace the rules: ``{"seed": int, "rules": [{pattern, error_rate, status, latency_ms, ...}]}``."""
        rules = [FaultRule.from_dict(rule) for rule in config.get("rules", [])]
        with self._lock:
            self.rules = rules
            self.seed = int(config.get("seed", 0))
            self.matched = [0] * len(rules)
            self.injected = [0] * len(rules)

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {
                "seed": self.seed,
                "rules": [
                    {**rule.to_dict(), "matched": m, "injected": i}
                    for rule, m, i in zip(self.rules, self.matched, self.injected, strict=True)
                ],
            }

    def apply(self, key: str) -> None:
        """Sleep for matching latency rules, then raise the first fault that fires."""
        delay, fault = self.decide(key)
        if delay:
            time.sleep(delay)
        if fault is not None:
            raise fault

    async def apply_async(self, key: str) -> None:
        delay, fault = self.decide(key)
        if delay:
            await asyncio.sleep(delay)
        if fault is not None:
            raise fault

    def decide(self, key: str) -> tuple[float, EmulatorError | None]:
        """(added latency in seconds, fault to raise or None) for one request."""
        fault: EmulatorError | None = None
        delay_ms = 0
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule._regex.search(key):
                    continue
                self.matched[index] += 1
                delay_ms += rule.latency_ms
                if fault is None and self._fires(index, rule):
                    self.injected[index] += 1
                    fault = _fault_error(rule, key)
        return delay_ms / 1000.0, fault

    def _fires(self, index: int, rule: FaultRule) -> bool:
        if rule.error_rate <= 0.0:
            return False
        if rule.max_faults is not None and self.injected[index] >= rule.max_faults:
            return False
        token = f"{self.seed}:{index}:{self.matched[index]}".encode()
        draw = int.from_bytes(hashlib.sha256(token).digest()[:8], "big") / 2**64
        return draw < rule.error_rate


def _fault_error(rule: FaultRule, key: str) -> EmulatorError:
    if rule.status == 429:
        return EmulatorError(
            429,
            "RATE_LIMIT_ERROR",
            "Rate limit exceeded (injected fault)",
            headers={"Retry-After": str(rule.retry_after)},
            http_status=429,
        )
    return EmulatorError(
        rule.status, "UNKNOWN_ERROR", f"injected fault {rule.status} for {key}", http_status=rule.status
    )
