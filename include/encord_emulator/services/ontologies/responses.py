"""Ontologies: ``GET/POST/PUT /v2/public/ontologies``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from encord_emulator.core.common import check_page_size, filter_listing, keyset_page
from encord_emulator.core.errors import invalid_arguments
from encord_emulator.core.registry import Ctx
from encord_emulator.services.ontologies.models import ONTOLOGY_KIND, get_ontology_doc, put_ontology

router = APIRouter()


class CreateOntologyBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    title: str
    description: str = ""
    editor: dict[str, Any] = Field(default_factory=dict)


def ontology_dto(doc: dict[str, Any]) -> dict[str, Any]:
    """``OntologyWithUserRole`` (every field present)."""
    return {
        "ontologyUuid": doc["uuid"],
        "title": doc["title"],
        "description": doc.get("description") or "",
        "editor": doc["editor"],
        "createdAt": doc["created_at"],
        "lastEditedAt": doc["last_edited_at"],
        "userRole": 0,
    }


# ---------------------------------------------------------------- v2 routes


@router.get("/ontologies")
def list_ontologies(request: Request, ctx: Ctx) -> dict[str, Any]:
    """``user_client.get_ontologies(title_eq=, title_like=, desc_eq=, ..., edited_after=)``.

    A ``Page``: the SDK (0.1.211) reads only the first page and sends no ``pageSize``, so without one
    every match is on that page; with ``pageSize`` it is keyset-paged by title like the other listings.
    """
    params = request.query_params
    matches = filter_listing(ctx.store.query(ONTOLOGY_KIND), params)
    page_size = check_page_size(int(params["pageSize"])) if params.get("pageSize") else max(len(matches), 1)
    page = keyset_page(matches, "title", page_size, params.get("pageToken"))
    return {"results": [ontology_dto(doc) for doc in page["results"]], "nextPageToken": page["nextPageToken"]}


@router.get("/ontologies/{ontology_hash}")
def get_ontology(ontology_hash: str, ctx: Ctx) -> dict[str, Any]:
    return ontology_dto(get_ontology_doc(ctx.store, ontology_hash))


@router.put("/ontologies/{ontology_hash}")
def save_ontology(ontology_hash: str, body: CreateOntologyBody, ctx: Ctx) -> None:
    """``ontology.save()``: title, description and structure replaced; projects see the new structure."""
    get_ontology_doc(ctx.store, ontology_hash)
    try:
        put_ontology(ctx.store, ontology_hash, body.title, body.description, body.editor)
    except ValueError as exc:
        raise invalid_arguments(str(exc)) from exc


@router.post("/ontologies")
def create_ontology(body: CreateOntologyBody, ctx: Ctx) -> dict[str, Any]:
    editor = body.editor or {"objects": [], "classifications": []}
    try:
        doc = put_ontology(ctx.store, str(uuid.uuid4()), body.title, body.description, editor)
    except ValueError as exc:
        raise invalid_arguments(str(exc)) from exc
    return ontology_dto(doc)
