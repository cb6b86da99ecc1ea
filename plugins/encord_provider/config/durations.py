"""Durations in the pipelines file: `90` or `"90"` (seconds), `45s`, `30m`, `2h`, `1h30m`, `1.5h`, `7d`, or ISO 8601
(`PT2H`, which is how `model_dump(mode="json")` writes a timedelta when tasks receive the pipeline)."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import partial
from typing import Annotated

from pydantic import BeforeValidator, TypeAdapter

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)d)?\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*"
                       r"(?:(\d+(?:\.\d+)?)s)?\s*$")  # fmt: skip
_SECONDS = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")


def parse_duration(value: object, *, allow_zero: bool = False) -> timedelta:
    """The duration `value` names; never negative, and zero only with `allow_zero`."""
    if isinstance(value, str) and value.strip().upper().startswith(("P", "-P")):
        try:
            value = TypeAdapter(timedelta).validate_python(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 duration like PT2H") from None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and _SECONDS.match(value):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)) and any(match.groups()):
        days, hours, minutes, secs = (float(part or 0) for part in match.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    else:
        raise ValueError(f"{value!r} is not a duration like 90 (seconds), 45s, 30m, 2h, 1h30m or 1d")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"duration {value!r} must be {'zero or more' if allow_zero else 'longer than zero'}")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
"""A duration longer than zero."""

DurationOrZero = Annotated[timedelta, BeforeValidator(partial(parse_duration, allow_zero=True))]
"""A duration of zero or more."""
