"""Admin API (no auth, loopback callers only): seed at runtime, configure faults, summarise state."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from encord_emulator.core.auth import require_loopback
from encord_emulator.core.errors import invalid_arguments
from encord_emulator.core.registry import app_state
from encord_emulator.core.seed import SeedError, apply_seed

root_router = APIRouter(prefix="/admin")


@root_router.post("/seed")
def post_seed(request: Request, seed: dict[str, Any]) -> dict[str, Any]:
    """Apply a seed document (same format as the --seed YAML) to the running server."""
    require_loopback(request)
    try:
        applied = apply_seed(app_state(request), seed)
    except SeedError as exc:
        raise invalid_arguments(str(exc)) from exc
    return {"applied": applied}


@root_router.post("/faults")
def post_faults(request: Request, config: dict[str, Any]) -> dict[str, Any]:
    """Replace the fault rules: ``{"seed": 1, "rules": [{"pattern": "...", "error_rate": 0.5, ...}]}``."""
    require_loopback(request)
    state = app_state(request)
    try:
        state.faults.configure(config)
    except (ValueError, TypeError) as exc:
        raise invalid_arguments(f"bad fault config: {exc}") from exc
    return state.faults.summary()


@root_router.get("/faults")
def get_faults(request: Request) -> dict[str, Any]:
    require_loopback(request)
    return app_state(request).faults.summary()


@root_router.get("/state")
def get_state(request: Request) -> dict[str, Any]:
    """Document counts per kind, loaded modules, fault counters."""
    require_loopback(request)
    state = app_state(request)
    return {
        "documents": state.store.kinds(),
        "handler_modules": request.app.state.handler_modules,
        "faults": state.faults.summary(),
        "settings": state.settings,
    }
