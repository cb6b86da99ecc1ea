"""Intent markers in the staging bucket: small JSON documents written with conditional writes.

A marker records what a task is about to do (start an upload job, upload a file) before it does it, so a
retry finds an earlier try's intent. `version` is the staging version the marker was read or written at;
it is what the next conditional write must replace, and is not part of the document.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Self, TypeVar

from encord_provider.storage.base import ConditionalStore
from encord_provider.storage.errors import ObjectNotFoundError


@dataclass
class Marker:
    version: str = field(default="", compare=False, kw_only=True)

    def dumps(self) -> bytes:
        data = asdict(self)
        data.pop("version")
        return json.dumps(data, indent=1).encode()

    @classmethod
    def loads(cls, raw: bytes, version: str) -> Self:
        return cls(**json.loads(raw), version=version)

    def changed(self, **changes: Any) -> Self:
        """A copy with `changes`, not yet written (its version is set by `write_marker`)."""
        return replace(self, version="", **changes)


M = TypeVar("M", bound=Marker)


def read_marker(staging: ConditionalStore, key: str, kind: type[M]) -> M | None:
    try:
        raw, version = staging.read_versioned(key)
    except ObjectNotFoundError:
        return None
    return kind.loads(raw, version)


def write_marker(staging: ConditionalStore, key: str, marker: M, replacing: Marker | None) -> M:
    """Write `marker` if the stored one is still `replacing` (None: only if there is none yet)."""
    marker.version = staging.write_conditional(
        key,
        marker.dumps(),
        if_version=replacing.version if replacing else None,
        content_type="application/json",
    )
    return marker
