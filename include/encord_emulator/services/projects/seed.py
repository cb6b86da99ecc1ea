"""Seed sections of the projects service: ``workflow_templates`` and ``projects``."""

from __future__ import annotations

from typing import Any

from encord_emulator.core.registry import AppState, register_seed_section
from encord_emulator.core.seed import SeedError, entries
from encord_emulator.services.ontologies.models import find_ontology
from encord_emulator.services.projects.models import (
    find_dataset,
    project_hash_for,
    put_project,
    put_template,
    template_uuid_for,
)
from encord_emulator.services.workflow.graph import default_workflow_spec


def seed_projects(state: AppState, value: Any) -> None:
    for index, entry in enumerate(entries("projects", value)):
        title = entry.get("title")
        if not title:
            raise SeedError(f"seed section 'projects' entry #{index}: missing 'title'")
        where = f"seed section 'projects' entry #{index} ({title})"
        ontology = find_ontology(state.store, str(entry.get("ontology", "")))
        if ontology is None:
            raise SeedError(
                f"{where}: ontology {entry.get('ontology')!r} is not seeded (give its title or uuid)"
            )
        dataset_hashes = []
        for ref in entry.get("datasets") or []:
            dataset = find_dataset(state.store, str(ref))
            if dataset is None:
                raise SeedError(f"{where}: dataset {ref!r} does not exist (give its title or hash)")
            dataset_hashes.append(str(dataset["dataset_hash"]))
        try:
            put_project(
                state.store,
                str(entry.get("project_hash") or project_hash_for(str(title))),
                title=str(title),
                description=str(entry.get("description") or ""),
                ontology_hash=str(ontology["uuid"]),
                dataset_hashes=dataset_hashes,
                workflow_spec=entry.get("workflow") or default_workflow_spec(),
                creator_email=str(entry.get("creator_email") or "admin@emulator.local"),
            )
        except ValueError as exc:
            raise SeedError(f"{where}: {exc}") from exc


def seed_workflow_templates(state: AppState, value: Any) -> None:
    for index, entry in enumerate(entries("workflow_templates", value)):
        title = entry.get("title")
        where = f"seed section 'workflow_templates' entry #{index} ({title})"
        if not title or not entry.get("workflow"):
            raise SeedError(f"{where}: needs 'title' and 'workflow' (a list of stages)")
        template_uuid = str(entry.get("uuid") or template_uuid_for(str(title)))
        try:
            put_template(state.store, template_uuid, str(title), list(entry["workflow"]))
        except ValueError as exc:
            raise SeedError(f"{where}: {exc}") from exc


register_seed_section("workflow_templates", seed_workflow_templates)
register_seed_section("projects", seed_projects)
