"""The small record every storage backend yields while listing a bucket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    """One listed object. `url` is the form Encord expects in a registration manifest."""

    url: str
    key: str
    size: int
    etag: str
    last_modified: datetime
