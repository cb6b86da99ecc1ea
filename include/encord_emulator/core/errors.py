"""Errors a handler raises; rendered so the SDK raises its matching exception.

v2 routes answer with the HTTP status (the SDK maps 400/401/403/404/409/413/429 itself);
legacy RPC answers HTTP 200 with ``{"status": N, "response": ["CODE"], "payload": message}``.
"""

from __future__ import annotations

from typing import Any

# Legacy envelope code per HTTP-style status, when the handler gives no explicit code.
_DEFAULT_CODES = {
    400: "INVALID_ARGUMENTS_ERROR",
    401: "AUTHENTICATION_ERROR",
    403: "AUTHORISATION_ERROR",
    404: "RESOURCE_NOT_FOUND_ERROR",
    405: "METHOD_NOT_ALLOWED_ERROR",
    409: "RESOURCE_EXISTS_ERROR",
    429: "RATE_LIMIT_ERROR",
}
# Short spellings accepted for convenience.
_ALIASES = {
    "RESOURCE_NOT_FOUND": "RESOURCE_NOT_FOUND_ERROR",
    "NOT_FOUND": "RESOURCE_NOT_FOUND_ERROR",
    "INVALID_ARGUMENTS": "INVALID_ARGUMENTS_ERROR",
    "AUTHENTICATION": "AUTHENTICATION_ERROR",
    "AUTHORISATION": "AUTHORISATION_ERROR",
    "RESOURCE_EXISTS": "RESOURCE_EXISTS_ERROR",
    "RATE_LIMIT": "RATE_LIMIT_ERROR",
}


class EmulatorError(Exception):
    """A failure answered to the client. ``status`` is HTTP-style; ``code`` the legacy error code."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str = "",
        payload: Any = None,
        headers: dict[str, str] | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message or code or str(status))
        self.status = status
        self.code = _ALIASES.get(code or "", code) or _DEFAULT_CODES.get(status, "UNKNOWN_ERROR")
        self.message = message
        self.payload = payload
        self.headers = headers or {}
        # Legacy answers keep HTTP 200 unless this is set (429 / 5xx faults use real statuses).
        self.http_status = http_status

    def v2_body(self) -> dict[str, Any]:
        return {"message": self.message or self.code}

    def legacy_body(self) -> dict[str, Any]:
        payload = self.payload if self.payload is not None else (self.message or None)
        return {"status": self.status, "response": [self.code], "payload": payload, "message": self.message}


def not_found(message: str) -> EmulatorError:
    return EmulatorError(404, "RESOURCE_NOT_FOUND_ERROR", message)


def invalid_arguments(message: str) -> EmulatorError:
    return EmulatorError(400, "INVALID_ARGUMENTS_ERROR", message)


def forbidden(message: str) -> EmulatorError:
    return EmulatorError(403, "AUTHORISATION_ERROR", message)


def unauthenticated(message: str) -> EmulatorError:
    return EmulatorError(401, "AUTHENTICATION_ERROR", message)


def already_exists(message: str) -> EmulatorError:
    return EmulatorError(409, "RESOURCE_EXISTS_ERROR", message)


NOT_EMULATED_CODE = "NOT_EMULATED_ERROR"


def not_emulated(call: str) -> EmulatorError:
    """A call the emulator does not implement. v2: HTTP 501, which the SDK raises as ``UnknownException`` with
    this message (a 404 would read as "resource not found"); legacy: an envelope code the SDK does not know,
    raised as ``GenericServerError`` showing the message."""
    return EmulatorError(
        501, NOT_EMULATED_CODE, f"not emulated: {call} (see docs/emulator.md for the supported calls)"
    )
