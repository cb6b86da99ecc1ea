"""Whether a planned run needs a person's approval before it registers (`approval:` of the pipeline).

Plain Python: reads the plan summary that `plan` writes (`plan.json`: objects, entries, by_type, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
