"""The Legacy export dialog's label-status filter and its "all data units" choice, for the SDK label source.

Encord's Legacy dialog filters by `LabelStatus` (NOT_LABELLED ... REVIEWED_TWICE). The SDK reads that status
only on projects without a workflow; on a workflow project `LabelRowV2.label_status` raises and the server
filters by the annotation task status instead (`list_label_rows_v2(label_statuses=[AnnotationTaskStatus])`).
So a workflow project's rows are filtered server side through `TASK_STATUSES`, the task statuses a row of
each label status is in; NOT_LABELLED means a data unit without a label row, whatever its task.

A data unit without a label row is listed (with `data_units: all`) under the key `unlabelled:<data_hash>`
and exported as an empty label row built from its listing metadata: initialising it through the SDK would
create a label row on the server, and an export never writes.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from encord_provider.exports.model import ExportFilters, LabelStatusName

if TYPE_CHECKING:
    from encord.objects import LabelRowV2

UNLABELLED_PREFIX = "unlabelled:"
NOT_LABELLED: LabelStatusName = "NOT_LABELLED"
TASK_STATUSES: dict[LabelStatusName, tuple[str, ...]] = {
    "LABEL_IN_PROGRESS": ("QUEUED", "ASSIGNED", "RETURNED"),
    "LABELLED": ("IN_REVIEW",),
    "REVIEW_IN_PROGRESS": ("IN_REVIEW",),
    "REVIEWED": ("COMPLETED",),
    "REVIEWED_TWICE": ("COMPLETED",),
}
"""Workflow projects: the annotation task statuses (`AnnotationTaskStatus` values) of each label status."""


def wants_unlabelled(filters: ExportFilters) -> bool:
    """Whether data units without a label row belong to the export."""
    if filters.data_units != "all":
        return False
    return filters.label_statuses is None or NOT_LABELLED in filters.label_statuses


def wants_labelled(filters: ExportFilters) -> bool:
    """Whether any labelled row can match (false when the filter is NOT_LABELLED alone)."""
    return filters.label_statuses is None or any(s != NOT_LABELLED for s in filters.label_statuses)


def task_statuses(filters: ExportFilters) -> list[str] | None:
    """The server-side task-status filter of a workflow project's labelled rows (None = no filter)."""
    if filters.label_statuses is None:
        return None
    wanted = {task for status in filters.label_statuses for task in TASK_STATUSES.get(status, ())}
    return sorted(wanted)


def keeps_legacy_row(row: LabelRowV2, statuses: Collection[str] | None) -> bool:
    """A row of a project without a workflow, filtered by its own label status (client side)."""
    return statuses is None or row.label_status.value in statuses


def unlabelled_key(data_hash: str) -> str:
    return f"{UNLABELLED_PREFIX}{data_hash}"


def is_unlabelled_key(label_hash: str) -> bool:
    return label_hash.startswith(UNLABELLED_PREFIX)


def empty_label_row(row: LabelRowV2) -> dict[str, Any]:
    """The Encord label JSON of a data unit that has no label row: its metadata and no labels."""
    unit: dict[str, Any] = {
        "data_hash": row.data_hash,
        "data_title": row.data_title,
        "data_type": row.file_type,
        "data_link": row.data_link,
        "width": row.width,
        "height": row.height,
        "labels": {"objects": [], "classifications": []} if row.number_of_frames <= 1 else {},
    }
    return {
        "label_hash": None,
        "branch_name": row.branch_name,
        "created_at": None,
        "last_edited_at": None,
        "data_hash": row.data_hash,
        "dataset_hash": row.dataset_hash,
        "dataset_title": row.dataset_title,
        "data_title": row.data_title,
        "data_type": row.data_type.value,
        "label_status": NOT_LABELLED,
        "data_units": {row.data_hash: unit},
        "object_answers": {},
        "classification_answers": {},
        "object_actions": {},
    }
