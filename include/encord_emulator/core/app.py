"""FastAPI application assembly: legacy RPC endpoints, then the routers of every service in ``SERVICES``."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from encord_emulator.core import seed as seed_module
from encord_emulator.core.auth import verify_legacy
from encord_emulator.core.errors import EmulatorError, invalid_arguments, not_emulated
from encord_emulator.core.faults import FaultInjector, LostResponseMiddleware
from encord_emulator.core.registry import STARTUP_HOOKS, AppState, app_state, context_for, dispatch_rpc
from encord_emulator.core.services import load_services
from encord_emulator.core.store import Store

log = logging.getLogger(__name__)

V2_PREFIX = "/v2/public"


def create_app(
    data_dir: str | Path,
    seed: str | Path | dict[str, Any] | None = None,
    faults: str | Path | dict[str, Any] | None = None,
) -> FastAPI:
    """Build the emulator app; ``seed``/``faults`` are YAML/JSON file paths or dicts."""
    services = load_services()
    state = AppState(data_dir=Path(data_dir), store=Store(data_dir), faults=FaultInjector())
    if seed is not None:
        seed_module.apply_seed(state, seed if isinstance(seed, dict) else seed_module.load_seed_file(seed))
    if faults is not None:
        state.faults.configure(faults if isinstance(faults, dict) else seed_module.load_seed_file(faults))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for hook in STARTUP_HOOKS:
            hook(state)
        yield
        state.stopping.set()
        state.executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="Encord emulator", lifespan=lifespan)
    app.state.emulator = state
    app.state.handler_modules = [service.name for service in services]
    _install_error_handlers(app)
    app.add_middleware(LostResponseMiddleware, faults=state.faults)
    app.include_router(_legacy_router())
    for service in services:
        if service.router is not None:
            app.include_router(service.router, prefix=V2_PREFIX)
        if service.root_router is not None:
            app.include_router(service.root_router)
    app.include_router(_not_emulated_router())  # last: only what no handler module answers reaches it
    return app


def _not_emulated_router() -> APIRouter:
    """Every v2 path or method no handler module serves: 501 naming the call, not FastAPI's bare 404/405."""
    router = APIRouter()

    @router.api_route(V2_PREFIX + "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def not_emulated_v2(request: Request, path: str) -> JSONResponse:
        raise not_emulated(f"{request.method} {request.url.path}")

    return router


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(EmulatorError)
    async def emulator_error(_: Request, exc: EmulatorError) -> JSONResponse:
        return JSONResponse(exc.v2_body(), status_code=exc.http_status or exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The SDK maps 400 to InvalidArgumentsError (FastAPI's default 422 would be UnknownException).
        return JSONResponse({"message": f"invalid request: {exc.errors()}"}, status_code=400)


def _legacy_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.post("/public")
    async def public(request: Request) -> JSONResponse:
        return await _legacy_call(request, user_scoped=False)

    @router.post("/public/user")
    async def public_user(request: Request) -> JSONResponse:
        return await _legacy_call(request, user_scoped=True)

    return router


async def _legacy_call(request: Request, user_scoped: bool) -> JSONResponse:
    state = app_state(request)
    body = await request.body()
    try:
        query_type, query_method, uid, payload = _parse_envelope(body)
        resource_type = "user" if user_scoped else (request.headers.get("resourcetype") or "user")
        resource_id = "" if user_scoped else request.headers.get("resourceid", "")
        await state.faults.apply_async(f"RPC {resource_type}:{query_type}:{query_method}")
        user = verify_legacy(request.headers, body, state.store)
        ctx = context_for(state, user, resource_type, resource_id)
        # Handlers are synchronous (SQLite, cloud SDKs): keep them off the event loop.
        from starlette.concurrency import run_in_threadpool

        result = await run_in_threadpool(dispatch_rpc, ctx, query_type, query_method, uid, payload)
    except EmulatorError as exc:
        return JSONResponse(exc.legacy_body(), status_code=exc.http_status or 200, headers=exc.headers)
    return JSONResponse({"status": 200, "response": result})


def _parse_envelope(body: bytes) -> tuple[str, str, Any, Any]:
    try:
        envelope = json.loads(body or b"null")
    except ValueError:
        raise invalid_arguments("request body is not JSON") from None
    if not isinstance(envelope, dict) or "query_type" not in envelope:
        raise invalid_arguments("request body is not an RPC envelope (query_type/query_method/values)")
    values = envelope.get("values") or {}
    return (
        str(envelope["query_type"]).lower(),
        str(envelope.get("query_method", "GET")).upper(),
        values.get("uid"),
        values.get("payload"),
    )
