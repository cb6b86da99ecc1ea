"""Seed documents (YAML or dict) applied at start-up and via ``POST /admin/seed``.

Each top-level key is a section handled by the function registered for it with
``registry.register_seed_section``. Core sections: ``users``, ``settings``, ``faults``;
handler modules add their own (``integrations``, ``folders``, ``datasets``, ``ontologies``, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from encord_emulator.core.auth import USER_KIND, public_key_hex
from encord_emulator.core.common import now_iso
from encord_emulator.core.registry import SEED_SECTIONS, AppState, register_seed_section


class SeedError(ValueError):
    """A seed document is malformed; the message names the section and entry."""


def load_seed_file(path: str | Path) -> dict[str, Any]:
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise SeedError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SeedError(f"{path}: the seed must be a mapping of sections")
    return data


def apply_seed(state: AppState, seed: dict[str, Any]) -> list[str]:
    """Apply every section in registration order; returns the applied section names."""
    unknown = sorted(set(seed) - set(SEED_SECTIONS))
    if unknown:
        raise SeedError(f"unknown seed sections {unknown}; known: {sorted(SEED_SECTIONS)}")
    applied = []
    for name, fn in SEED_SECTIONS.items():
        if name in seed and seed[name] is not None:
            try:
                fn(state, seed[name])
            except SeedError:
                raise
            except (KeyError, TypeError, ValueError) as exc:
                raise SeedError(f"seed section {name!r}: {exc}") from exc
            applied.append(name)
    return applied


def entries(section: str, value: Any) -> list[dict[str, Any]]:
    """A seed section that must be a list of mappings."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise SeedError(f"seed section {section!r} must be a list of mappings")
    return value


def require(section: str, index: int, entry: dict[str, Any], key: str) -> Any:
    if key not in entry or entry[key] in (None, ""):
        raise SeedError(f"seed section {section!r} entry #{index}: missing {key!r}")
    return entry[key]


def first_user_email(state: AppState) -> str:
    """The owner of seeded resources: the first seeded user."""
    users = state.store.query(USER_KIND)
    return str(users[0]["email"]) if users else "emulator@localhost"


def _seed_users(state: AppState, value: Any) -> None:
    for index, entry in enumerate(entries("users", value)):
        email = str(require("users", index, entry, "email"))
        try:
            key_hex = public_key_hex(str(require("users", index, entry, "public_key")))
        except ValueError as exc:
            raise SeedError(f"seed section 'users' entry #{index} ({email}): bad public_key: {exc}") from exc
        existing = state.store.get(USER_KIND, key_hex) or {}
        state.store.put(
            USER_KIND,
            key_hex,
            {
                "email": email,
                "uid": entry.get("uid") or existing.get("uid") or email,
                "public_key_hex": key_hex,
                "created_at": existing.get("created_at") or now_iso(),
            },
        )


def _seed_settings(state: AppState, value: Any) -> None:
    if not isinstance(value, dict):
        raise SeedError("seed section 'settings' must be a mapping")
    state.settings.update(value)


def _seed_faults(state: AppState, value: Any) -> None:
    if not isinstance(value, dict):
        raise SeedError("seed section 'faults' must be a mapping {seed, rules}")
    state.faults.configure(value)


register_seed_section("users", _seed_users)
register_seed_section("settings", _seed_settings)
register_seed_section("faults", _seed_faults)
