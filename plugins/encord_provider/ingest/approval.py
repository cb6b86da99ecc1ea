"""Whether a planned run needs a person's approval before it registers, or before it archives deletions
(`approval: {above_objects, above_deletions}` of the pipeline).

Plain Python: reads the plan summary that `plan` writes (`plan.json`: objects, entries, by_type,
bucket_changes, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_SHOWN = 20  # deleted objects named in an archive request (the count is complete)


@dataclass(frozen=True)
class ApprovalRequest:
    """What the person is asked, when the run needs asking."""

    subject: str
    body: str


def approval_request(pipeline: str, above_objects: int, plan: dict[str, Any]) -> ApprovalRequest | None:
    """The request for a run whose plan registers more than `above_objects` objects, else None."""
    objects = int(plan.get("objects") or 0)
    if objects <= above_objects:
        return None
    by_type = ", ".join(
        f"{_objects(counts)} {kind}" for kind, counts in sorted((plan.get("by_type") or {}).items())
    )
    body = (
        f"Pipeline **{pipeline}** planned **{objects}** objects to register "
        f"(approval.above_objects is {above_objects}).\n\n"
        f"- by type: {by_type or 'n/a'}\n"
        f"- entries: {plan.get('entries', 0)} in {len(plan.get('manifests') or [])} manifests\n"
        f"- rejected: {plan.get('rejected', 0)}, already known: {plan.get('already_known', 0)}\n"
        f"- listing: {plan.get('listing', '')}\n\n"
        "Approve to register them now. Reject to skip this run: nothing is registered and the objects "
        "are planned again (and you are asked again) on the next run."
    )
    return ApprovalRequest(subject=f"Register {objects} objects for pipeline {pipeline}?", body=body)


def _objects(counts: dict[str, int] | int) -> int:
    """`by_type` of a plan holds {"entries": n, "objects": n} per data type."""
    return counts if isinstance(counts, int) else int(counts.get("objects", 0))


def archive_request(pipeline: str, above_deletions: int, plan: dict[str, Any]) -> ApprovalRequest | None:
    """The request for a run that would archive the items of more than `above_deletions` deleted objects."""
    changes = plan.get("bucket_changes") or {}
    held = int(changes.get("awaiting_approval") or 0)
    if held <= above_deletions:
        return None
    shown = [entry for entry in changes.get("deleted") or [] if entry.get("item")][:MAX_SHOWN]
    keys = "\n".join(f"- `{entry['key']}` (item {entry['item']})" for entry in shown)
    more = f"\n- ... and {held - len(shown)} more" if held > len(shown) else ""
    body = (
        f"Pipeline **{pipeline}** found **{held}** registered objects deleted from the bucket "
        f"(approval.above_deletions is {above_deletions}). bucket_changes.deleted is `archive`: their items "
        f"get `encord_ingest.deleted_from_bucket` in their client metadata (they stay in the folder and "
        f"datasets).\n\n{keys}{more}\n\n"
        "Approve to archive exactly these now. Reject to archive nothing: the deletions stay in the run "
        "report and are found (and you are asked) again on the next complete listing."
    )
    return ApprovalRequest(subject=f"Archive {held} deleted objects for pipeline {pipeline}?", body=body)
