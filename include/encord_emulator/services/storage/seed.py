"""Seed sections of the storage service: ``integrations`` and ``folders``."""

from __future__ import annotations

from typing import Any

from encord_emulator.clouds import PROVIDERS
from encord_emulator.core.registry import AppState, register_seed_section
from encord_emulator.core.seed import SeedError, entries, first_user_email, require
from encord_emulator.services.storage import models
from encord_emulator.services.storage.models import FOLDER_KIND


def seed_integrations(state: AppState, value: Any) -> None:
    for index, entry in enumerate(entries("integrations", value)):
        title = str(require("integrations", index, entry, "title"))
        provider = str(require("integrations", index, entry, "provider"))
        if provider not in PROVIDERS:
            raise SeedError(f"integration {title!r}: provider must be one of {PROVIDERS}, got {provider!r}")
        try:
            models.put_integration(state, dict(entry))
        except ValueError as exc:
            raise SeedError(f"integration {title!r}: {exc}") from exc


def seed_folders(state: AppState, value: Any) -> None:
    owner = first_user_email(state)
    for index, entry in enumerate(entries("folders", value)):
        name = str(require("folders", index, entry, "name"))
        parent = entry.get("parent")
        if parent and state.store.get(FOLDER_KIND, parent) is None:
            matches = state.store.query(FOLDER_KIND, name=parent)
            if not matches:
                raise SeedError(
                    f"folder {name!r}: parent {parent!r} is neither a folder uuid nor a folder name"
                )
            parent = matches[0]["uuid"]
        existing = [f for f in state.store.query(FOLDER_KIND, name=name) if f.get("parent") == parent]
        if entry.get("uuid") and state.store.get(FOLDER_KIND, entry["uuid"]) is not None:
            continue
        if existing and not entry.get("uuid"):
            continue
        models.create_folder(state.store, name, owner, entry.get("description"), parent,
                             entry.get("client_metadata"), uuid=entry.get("uuid"))  # fmt: skip


register_seed_section("integrations", seed_integrations)
register_seed_section("folders", seed_folders)
