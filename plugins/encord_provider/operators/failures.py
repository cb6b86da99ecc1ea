"""The one place where the provider's errors meet Airflow.

`fail_fast` wraps the body of every operator method that talks to Encord or a bucket:

- a `PermanentError` (or a connection Airflow does not know) becomes `AirflowFailException`: the task
  fails at once, without spending its retries;
- anything else, `TransientError` included, propagates unchanged, so Airflow's task retries apply.

Triggers do not raise into Airflow: they report a failure in their event, with `error_event_fields`, and
the operator method that resumes re-raises it as the matching kind with `raise_for_event` (the
event's `permanent` flag comes from `encord_api.jobs.PollOutcome.event`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from encord_provider.errors import PermanentError, TransientError

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def fail_fast() -> Iterator[None]:
    """Permanent errors (and a missing connection) fail the task at once; the rest may retry."""
    try:
        yield
    except PermanentError as err:
        raise AirflowFailException(str(err)) from err
    except AirflowNotFoundException as err:
        raise AirflowFailException(f"{err}: define it (UI, CLI or AIRFLOW_CONN_<ID>) and run again") from err


def failing_fast(method: Callable[P, R]) -> Callable[P, R]:
    """`fail_fast` as a decorator for operator methods (`execute`, `execute_complete`)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with fail_fast():
            return method(*args, **kwargs)

    return wrapper


class TriggerFailedError(TransientError):
    """A trigger gave up after a transient failure (e.g. Encord kept answering 5xx while it polled)."""


class TriggerRejectedError(PermanentError):
    """A trigger failed with a permanent error (e.g. the connection's key was refused while it polled)."""


def raise_for_event(event: dict[str, Any], what: str) -> None:
    """Re-raise a trigger's reported error as the matching kind (call it inside `fail_fast`)."""
    error_type = TriggerRejectedError if event.get("permanent") else TriggerFailedError
    raise error_type(f"{what}: {event.get('error') or event!r}")
