"""Seed section of the datasets service: ``datasets``."""

from __future__ import annotations

from typing import Any

from encord_emulator.core.registry import AppState, register_seed_section
from encord_emulator.core.seed import SeedError, entries, first_user_email, require
from encord_emulator.services.datasets.models import DATASET_KIND, create_dataset
from encord_emulator.services.storage.models import FOLDER_KIND


def seed_datasets(state: AppState, value: Any) -> None:
    owner = first_user_email(state)
    for index, entry in enumerate(entries("datasets", value)):
        title = str(require("datasets", index, entry, "title"))
        dataset_hash = entry.get("uuid") or entry.get("dataset_hash")
        if dataset_hash and state.store.get(DATASET_KIND, dataset_hash) is not None:
            continue
        if not dataset_hash and state.store.query(DATASET_KIND, title=title):
            continue
        backing = entry.get("backing_folder")
        backing_uuid = None
        if isinstance(backing, str):
            matches = [f for f in state.store.query(FOLDER_KIND) if backing in (f["uuid"], f["name"])]
            if not matches:
                raise SeedError(
                    f"dataset {title!r}: backing_folder {backing!r} is not a known folder uuid or name"
                )
            backing_uuid = matches[0]["uuid"]
        create_dataset(
            state.store, title, owner, entry.get("description"), backing is True, dataset_hash, backing_uuid
        )


register_seed_section("datasets", seed_datasets)
