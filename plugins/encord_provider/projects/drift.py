"""Drift: what Encord has that the config does not say, and the report of one bootstrap run.

Drift is reported, never repaired: a found ontology, dataset or project is left as it is. `on_drift: fail`
turns a report with drift into `BootstrapDriftError` (permanent: the task fails at once).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from encord_provider.errors import PermanentError
from encord_provider.projects.structure import Outline

DriftKind = Literal[
    "ontology_structure", "project_ontology", "project_datasets", "project_workflow", "duplicate_title"
]
Action = Literal["created", "found"]


class BootstrapDriftError(PermanentError, RuntimeError):
    """The config and Encord differ and the project entry says `on_drift: fail`."""


@dataclass(frozen=True)
class Drift:
    kind: DriftKind
    subject: str  # e.g. "ontology 'Fruit'"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"


@dataclass
class BootstrapReport:
    """What one bootstrap run found, created and saw drifting; `to_dict` is the task's (small) output."""

    project: str
    project_hash: str | None = None
    ontology_hash: str | None = None
    actions: dict[str, Action] = field(default_factory=dict)  # "ontology 'Fruit'" -> created | found
    drift: list[Drift] = field(default_factory=list)

    @property
    def created(self) -> list[str]:
        return [subject for subject, action in self.actions.items() if action == "created"]

    def summary(self) -> str:
        made = f"created {', '.join(self.created)}" if self.created else "created nothing"
        state = f"{len(self.drift)} drift" if self.drift else "no drift"
        return f"project {self.project!r} ({self.project_hash or 'not resolved'}): {made}; {state}"

    def lines(self) -> list[str]:
        """The summary, one line per action, one per drift (what the task logs)."""
        return [
            self.summary(),
            *(f"  {action:7} {subject}" for subject, action in self.actions.items()),
            *(f"  DRIFT   {drift}" for drift in self.drift),
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "project_hash": self.project_hash,
            "ontology_hash": self.ontology_hash,
            "actions": dict(self.actions),
            "created": self.created,
            "drift": [asdict(drift) for drift in self.drift],
        }


def outline_drift(wanted: Outline, found: Outline, path: str = "") -> list[str]:
    """Differences between two outlines, one line each: `objects/Apple/attributes/Color/options/Yellow: ...`."""
    lines: list[str] = []
    for key in [*wanted, *(k for k in found if k not in wanted)]:
        where = f"{path}/{key}" if path else str(key)
        if key not in found:
            lines.append(f"{where}: in the config, not in Encord")
        elif key not in wanted:
            lines.append(f"{where}: in Encord, not in the config")
        elif isinstance(wanted[key], dict) and isinstance(found[key], dict):
            lines.extend(outline_drift(wanted[key], found[key], where))
        elif wanted[key] != found[key]:
            lines.append(f"{where}: Encord has {found[key]!r}, the config says {wanted[key]!r}")
    return lines
