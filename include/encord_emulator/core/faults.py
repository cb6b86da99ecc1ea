"""Fault injection: a share of 429 / 5xx answers and added latency per endpoint pattern.

A rule matches a request key with ``re.search``. Keys are ``"<METHOD> <path>"`` for v2 routes
(e.g. ``"GET /v2/public/storage/folders/…/items"``) and ``"RPC <resource_type>:<query_type>:<METHOD>"``
for legacy calls (e.g. ``"RPC dataset:datasetlinkitems:POST"``). Decisions are deterministic:
the n-th request matching rule i fails iff hash(seed, i, n) falls below the rule's rate.

Two kinds of rule (``mode``):

- ``error`` (default): the request is refused before it is handled (nothing happens server-side);
- ``lost_response``: the request is handled to completion (the job starts, the folder is created, ...)
  and then the client gets ``status`` (a 5xx) instead of the answer, as when a gateway times out after
  the backend committed. Applied by ``LostResponseMiddleware`` and only to requests that succeeded.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

from encord_emulator.core.errors import EmulatorError


@dataclass
class FaultRule:
    pattern: str
    error_rate: float = 0.0
    status: int = 503
    latency_ms: int = 0
    retry_after: int = 0
    max_faults: int | None = None
    mode: Literal["error", "lost_response"] = "error"
    _regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"fault rule {self.pattern!r}: error_rate must be within 0..1")
        if self.status not in (429, 500, 502, 503, 504):
            raise ValueError(f"fault rule {self.pattern!r}: status must be 429 or 5xx")
        if self.mode not in ("error", "lost_response"):
            raise ValueError(f"fault rule {self.pattern!r}: mode must be 'error' or 'lost_response'")
        if self.mode == "lost_response" and self.status == 429:
            raise ValueError(f"fault rule {self.pattern!r}: a lost response answers a 5xx status, not 429")
        self._regex = re.compile(self.pattern)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaultRule:
        known = {"pattern", "error_rate", "status", "latency_ms", "retry_after", "max_faults", "mode"}
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
            "mode": self.mode,
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
        """(added latency in seconds, fault to raise or None) for one request, before it is handled."""
        fault: EmulatorError | None = None
        delay_ms = 0
        with self._lock:
            for index, rule in enumerate(self.rules):
                if rule.mode != "error" or not rule._regex.search(key):
                    continue
                self.matched[index] += 1
                delay_ms += rule.latency_ms
                if fault is None and self._fires(index, rule):
                    self.injected[index] += 1
                    fault = _fault_error(rule, key)
        return delay_ms / 1000.0, fault

    def may_lose(self, key: str) -> bool:
        """Whether a ``lost_response`` rule matches ``key`` (the answer must then be held back)."""
        with self._lock:
            return any(r.mode == "lost_response" and r._regex.search(key) for r in self.rules)

    def lost_response(self, key: str) -> EmulatorError | None:
        """After a request succeeded: the 5xx to answer instead, or None to send the real answer."""
        with self._lock:
            for index, rule in enumerate(self.rules):
                if rule.mode != "lost_response" or not rule._regex.search(key):
                    continue
                self.matched[index] += 1
                if self._fires(index, rule):
                    self.injected[index] += 1
                    return EmulatorError(
                        rule.status, "UNKNOWN_ERROR", f"injected lost response {rule.status} for {key} "
                        "(the request was carried out)", http_status=rule.status,
                    )  # fmt: skip
        return None

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


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LostResponseMiddleware:
    """ASGI middleware for ``lost_response`` rules: the request runs to completion, then a 5xx goes out.

    Requests no such rule can match pass straight through. For the others the request body is read first
    (legacy RPC keys come from the envelope) and the answer is held back until the handler finished.
    """

    def __init__(self, app: ASGIApp, faults: FaultInjector) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not any(r.mode == "lost_response" for r in self.faults.rules):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        key = _request_key(scope, body)
        if key is None or not self.faults.may_lose(key):
            await self.app(scope, _replay(body), send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, _replay(body), hold)
        status = next((int(m["status"]) for m in held if m["type"] == "http.response.start"), 500)
        fault = self.faults.lost_response(key) if status < 400 else None
        if fault is None:
            for message in held:
                await send(message)
            return
        legacy = key.startswith("RPC ")
        payload = json.dumps(fault.legacy_body() if legacy else fault.v2_body()).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send(
            {"type": "http.response.start", "status": fault.http_status or fault.status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": payload})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _request_key(scope: Scope, body: bytes) -> str | None:
    """The rule key of a request: ``"<METHOD> <path>"`` for v2, ``"RPC type:query:METHOD"`` for legacy."""
    path = str(scope.get("path", ""))
    if path not in ("/public", "/public/user"):
        return f"{scope.get('method', 'GET')} {path}"
    try:
        envelope = json.loads(body or b"null")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        resource_type = "user" if path == "/public/user" else (headers.get("resourcetype") or "user")
        query_type = str(envelope["query_type"]).lower()
        return f"RPC {resource_type}:{query_type}:{str(envelope.get('query_method', 'GET')).upper()}"
    except (ValueError, KeyError, TypeError):
        return None
