"""The framework every handler module plugs into.

- ``@rpc(resource_type, query_type, query_method)`` registers a legacy ``POST /public`` handler
  ``handler(ctx, uid, payload) -> result``; ``resource_type`` is ``"dataset"``, ``"project"`` or ``"user"``
  (``/public/user`` calls, which send an empty ResourceType header).
- v2 handler modules expose ``router: fastapi.APIRouter`` (paths relative to ``/v2/public``) and take
  ``ctx: RequestContext = Depends(current_context)`` for the signature-verified caller.
- ``register_seed_section(name, fn)`` lets a module apply its own top-level seed YAML section;
  sections are applied in registration order (= module import order in ``app.HANDLER_MODULES``).
- Raise ``EmulatorError`` (or the helpers in ``errors``) for failures in either style.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from encord_emulator.core.auth import verify_v2
from encord_emulator.core.errors import not_emulated
from encord_emulator.core.faults import FaultInjector
from encord_emulator.core.store import Store

RpcHandler = Callable[["RequestContext", Any, Any], Any]
SeedSectionFn = Callable[["AppState", Any], None]

RPC_HANDLERS: dict[tuple[str, str, str], RpcHandler] = {}
SEED_SECTIONS: dict[str, SeedSectionFn] = {}
STARTUP_HOOKS: list[Callable[[AppState], None]] = []


@dataclass
class AppState:
    """Per-server state shared by all handlers (``ctx.app``)."""

    data_dir: Path
    store: Store
    faults: FaultInjector
    settings: dict[str, Any] = field(default_factory=dict)
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=4))
    stopping: threading.Event = field(default_factory=threading.Event)
    services: dict[str, Any] = field(default_factory=dict)  # per-module singletons (job runner, ...)

    def run_background(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` on the emulator's worker pool (upload jobs, simulated annotators)."""
        return self.executor.submit(fn, *args)

    def setting(self, name: str, default: Any) -> Any:
        return self.settings.get(name, default)


@dataclass
class RequestContext:
    store: Store
    user_email: str
    user_uid: str
    resource_type: str
    resource_id: str
    app: AppState

    @property
    def config(self) -> AppState:
        return self.app


def rpc(resource_type: str, query_type: str, query_method: str) -> Callable[[RpcHandler], RpcHandler]:
    """Register a legacy RPC handler for ``(resource_type, query_type, query_method)``."""

    def decorate(fn: RpcHandler) -> RpcHandler:
        key = (resource_type, query_type.lower(), query_method.upper())
        if key in RPC_HANDLERS and RPC_HANDLERS[key] is not fn:
            raise RuntimeError(f"duplicate RPC handler for {key}")
        RPC_HANDLERS[key] = fn
        return fn

    return decorate


def register_seed_section(name: str, fn: SeedSectionFn) -> None:
    """``fn(app_state, section_value)`` applies the seed's top-level ``name`` section; must be idempotent."""
    SEED_SECTIONS[name] = fn


def on_startup(fn: Callable[[AppState], None]) -> Callable[[AppState], None]:
    """Run ``fn(app_state)`` once the server starts (after the seed), e.g. to resume unfinished jobs."""
    STARTUP_HOOKS.append(fn)
    return fn


def app_state(request: Request) -> AppState:
    state = request.app.state.emulator
    assert isinstance(state, AppState)
    return state


def request_target(request: Request) -> str:
    """Raw path + query exactly as sent (what the v2 signature covers)."""
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string", b"")
    target = raw_path.decode("latin-1")
    return f"{target}?{query.decode('latin-1')}" if query else target


async def current_context(request: Request) -> RequestContext:
    """FastAPI dependency: apply faults, verify the v2 signature, and return the caller's context."""
    state = app_state(request)
    await state.faults.apply_async(f"{request.method} {request.url.path}")
    body = await request.body()
    user = verify_v2(request.method, request_target(request), request.headers, body, state.store)
    return context_for(state, user, "", "")


def context_for(
    state: AppState, user: dict[str, Any], resource_type: str, resource_id: str
) -> RequestContext:
    return RequestContext(
        store=state.store,
        user_email=str(user["email"]),
        user_uid=str(user["uid"]),
        resource_type=resource_type,
        resource_id=resource_id,
        app=state,
    )


def dispatch_rpc(ctx: RequestContext, query_type: str, query_method: str, uid: Any, payload: Any) -> Any:
    handler = RPC_HANDLERS.get((ctx.resource_type, query_type.lower(), query_method.upper()))
    if handler is None:
        raise not_emulated(f"RPC {ctx.resource_type}:{query_type}:{query_method}")
    return handler(ctx, uid, payload)


# Route parameter type for the authenticated caller: ``def route(ctx: Ctx, ...)``.
Ctx = Annotated[RequestContext, Depends(current_context)]
