"""How every Encord call is made: one classification of SDK errors and one retry discipline.

- **Reads** and calls the SDK itself retries (lookups, job status, listings, item updates) go through
  `read`: rate limits (honouring Retry-After), 5xx and dropped connections are retried with backoff.
- **Calls the SDK marks non-retryable** (`allow_retries=False` / `retryable=False`: start an upload job,
  create a folder or dataset, link items) go through `write_once`: one attempt. A 429 is retried, since
  the rate limiter refused the request before anything happened. Any other 5xx or transport failure may
  have been carried out (a lost response), so it raises `AmbiguousWriteError` and the caller first looks
  at Encord before anything is sent again.

Errors a retry cannot fix become permanent errors naming the connection, the domain or the target.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from encord_provider.ingest.errors import (
    AmbiguousWriteError,
    EncordAccessError,
    EncordTargetError,
    EncordUnavailableError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


class ErrorKind(Enum):
    RATE_LIMITED = "rate_limited"  # refused before anything happened; retry after Retry-After
    UNAVAILABLE = "unavailable"  # 5xx / transport: a read can be retried, a write may have happened
    NOT_FOUND = "not_found"
    REJECTED = "rejected"  # 400 / 405 / 409 / 413: the request itself is wrong
    ACCESS = "access"  # 401 / 403, a missing or unreadable key
    OTHER = "other"  # not an Encord error: a bug, left alone


RETRYABLE = (ErrorKind.RATE_LIMITED, ErrorKind.UNAVAILABLE)


def classify(err: BaseException) -> ErrorKind:
    """The one place that decides what an SDK exception means."""
    from encord import exceptions as e
    from requests import RequestException as TransportError

    if isinstance(err, e.RateLimitExceededError):
        return ErrorKind.RATE_LIMITED
    if isinstance(err, e.ResourceNotFoundError):
        return ErrorKind.NOT_FOUND
    if isinstance(err, e.AuthenticationError | e.AuthorisationError):
        return ErrorKind.ACCESS
    if isinstance(
        err,
        e.InvalidArgumentsError | e.MethodNotAllowedError | e.ResourceExistsError | e.PayloadTooLargeError,
    ):
        return ErrorKind.REJECTED
    unavailable = (
        e.UnknownException,
        e.RequestException,
        e.GenericServerError,
        e.TimeOutError,
        TransportError,
    )
    if isinstance(err, unavailable + (ConnectionError, TimeoutError)):
        return ErrorKind.UNAVAILABLE
    return ErrorKind.OTHER


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, err: BaseException) -> float:
        retry_after = getattr(err, "retry_after", None)
        return (
            float(retry_after) if retry_after else min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
        )


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up at call time, so tests can patch time.sleep


class EncordCalls:
    """The call discipline of `EncordApi`. `conn_id` and `domain` only name the connection in errors."""

    def __init__(
        self,
        *,
        conn_id: str = "",
        domain: str = "",
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.domain = domain
        self.retry = retry or RetryPolicy()
        self.sleep = sleep or _sleep

    def permanent(self, err: BaseException, what: str) -> Exception | None:
        """The permanent error `err` stands for, or None when a retry might help (or it is a bug)."""
        kind = classify(err)
        where = f"Encord connection {self.conn_id!r}" + (f" ({self.domain})" if self.domain else "")
        if kind is ErrorKind.ACCESS:
            return EncordAccessError(f"{what}: {where} was refused: {err}")
        if kind is ErrorKind.REJECTED:
            return EncordTargetError(f"{what}: Encord rejected the request ({type(err).__name__}: {err})")
        return None

    def read(self, fn: Callable[[], T], what: str) -> T:
        """Retry rate limits, 5xx and dropped connections; translate permanent errors."""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return fn()
            except Exception as err:
                if classify(err) not in RETRYABLE:
                    permanent = self.permanent(err, what)
                    if permanent is not None:
                        raise permanent from err
                    raise
                if attempt == self.retry.attempts:
                    raise EncordUnavailableError(
                        f"{what}: Encord kept failing ({type(err).__name__}: {err})"
                    ) from err
                delay = self.retry.delay(attempt, err)
                log.warning("%s failed (%s); retry %d/%d in %.1fs", what, type(err).__name__, attempt,
                            self.retry.attempts, delay)  # fmt: skip
                self.sleep(delay)
        raise AssertionError("unreachable")

    def write_once(self, fn: Callable[[], T], what: str) -> T:
        """One attempt of a non-retryable call; only a 429 (nothing happened) is sent again."""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return fn()
            except Exception as err:
                kind = classify(err)
                if kind is ErrorKind.RATE_LIMITED and attempt < self.retry.attempts:
                    delay = self.retry.delay(attempt, err)
                    log.warning("%s rate-limited; retry %d in %.1fs", what, attempt, delay)
                    self.sleep(delay)
                    continue
                if kind is ErrorKind.UNAVAILABLE:
                    raise AmbiguousWriteError(
                        f"{what}: {type(err).__name__} ({err}); Encord may have carried it out"
                    ) from err
                if kind is ErrorKind.RATE_LIMITED:
                    raise EncordUnavailableError(f"{what}: still rate-limited after {attempt} tries") from err
                permanent = self.permanent(err, what)
                if permanent is not None:
                    raise permanent from err
                raise
        raise AssertionError("unreachable")

    def exists(self, fetch: Callable[[], Any], what: str) -> bool:
        """False when Encord answers "not found" (403 counts too: the docs say a missing folder may be
        reported as not authorised); a failed lookup is never taken for "missing"."""
        from encord.exceptions import AuthorisationError

        try:
            self.read(fetch, what)
        except EncordAccessError as err:
            if isinstance(err.__cause__, AuthorisationError):
                return False
            raise
        except Exception as err:
            if classify(err) is ErrorKind.NOT_FOUND:
                return False
            raise
        return True
