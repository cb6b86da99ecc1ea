"""Label-row dicts as the server sends them, through the SDK's own request path (no object model).

`LabelRowV2.initialise_labels(bundle=...)` sends exactly this request (`get_label_rows` of the project
client, at most `LABEL_ROW_BUNDLE_GET_LIMIT` rows per call) and then parses each dict into objects; the
export renders the dicts itself (`exports.normalise`) and needs only the request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from encord.objects import LabelRowV2
    from encord.project import Project


@dataclass(frozen=True)
class LabelRowQuery:
    """What `initialise_labels` is asked for: signed URLs and the object / classification filters."""

    signed_urls: bool = False
    object_feature_hashes: frozenset[str] | None = None
    classification_feature_hashes: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class RowListing:
    """What `to_encord_dict()` takes from a row's listing rather than from its label dict.

    Carried from the export's listing to its fetch (encoded as one short string beside the row), so a
    fetched page needs no second listing call.
    """

    is_shadow_data: bool
    duration: float | None
    fps: float | None
    has_spaces: bool

    @classmethod
    def of(cls, row: LabelRowV2) -> RowListing:
        return cls(bool(row.is_shadow_data), row.duration, row.fps, bool(row.get_spaces()))

    def encode(self) -> str:
        """Compact JSON (floats as `repr`, so they decode to the same value)."""
        return json.dumps(
            [self.is_shadow_data, self.duration, self.fps, self.has_spaces], separators=(",", ":")
        )

    @classmethod
    def decode(cls, text: str) -> RowListing:
        shadow, duration, fps, spaces = json.loads(text)
        return cls(bool(shadow), duration, fps, bool(spaces))


def label_row_dicts(
    project: Project, label_hashes: Sequence[str], query: LabelRowQuery
) -> list[dict[str, Any]]:
    """The server's label-row dict of each label hash (in the server's order; match them by `label_hash`)."""
    from encord.http.limits import LABEL_ROW_BUNDLE_GET_LIMIT

    client = project._client  # the project client `LabelRowV2` itself sends this request through
    found: list[dict[str, Any]] = []
    for start in range(0, len(label_hashes), LABEL_ROW_BUNDLE_GET_LIMIT):
        found += client.get_label_rows(
            list(label_hashes[start : start + LABEL_ROW_BUNDLE_GET_LIMIT]),
            get_signed_url=query.signed_urls,
            include_object_feature_hashes=_optional_set(query.object_feature_hashes),
            include_classification_feature_hashes=_optional_set(query.classification_feature_hashes),
            include_reviews=False,
            include_archived=False,
        )
    return found


def _optional_set(values: frozenset[str] | None) -> set[str] | None:
    return set(values) if values else None
