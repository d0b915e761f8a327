"""One mapping from errors to status codes and one JSON body: ``{"error": {"code", "message"}, "detail"}``.

``detail`` repeats the message where FastAPI clients (and the original Penguin page) read it.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from penguin_actors import errors
from serve_app.schemas import ErrorResponse

log = logging.getLogger(__name__)

# FastAPI's detail of its 400 for a body it cannot parse (not UTF-8, broken multipart).
FASTAPI_UNPARSEABLE_BODY = "There was an error parsing the body"


class RateLimited(errors.PenguinError):
    """A client went over a rate limit; ``retry_after_s`` (whole seconds) says when to try again."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, **details: Any) -> None:
        super().__init__(message, retry_after_s=retry_after_s, **details)
        self.retry_after_s = retry_after_s


# The status of each error code, whether it arrives as an exception or in a turn's error frame.
STATUS_BY_CODE: dict[str, int] = {
    errors.NotFound.code: 404,
    errors.Conflict.code: 409,
    errors.Invalid.code: 400,
    errors.TooLarge.code: 413,
    errors.Unavailable.code: 503,
    "passivating": 503,
    "not_hosted": 503,
    "conversation_lost": 503,
    errors.ProviderError.code: 502,
    errors.ConfigError.code: 500,
    "cancelled": 409,
    RateLimited.code: 429,
}


def status_for(exc: errors.PenguinError) -> int:
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    for cls in type(exc).__mro__:  # a subclass with a code of its own falls back to its base kind
        code = getattr(cls, "code", None)
        if code in STATUS_BY_CODE:
            return STATUS_BY_CODE[code]
    return 500


def error_response(status: int, code: str, message: str, details: Any = None, **kwargs: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body, "detail": message}, status_code=status, **kwargs)


CODE_BY_STATUS = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def _code_for_status(status: int) -> str:
    if status in CODE_BY_STATUS:
        return CODE_BY_STATUS[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def penguin_error_response(exc: errors.PenguinError) -> JSONResponse:
    """The error body and status of ``exc``; a rate limit adds ``Retry-After``."""
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
    return error_response(status_for(exc), exc.code, exc.message, details=exc.details or None, headers=headers)


async def _penguin_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.PenguinError)
    return penguin_error_response(exc)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and message == "Not Found":
        message = "no such route: see /api/docs for the API"
    elif exc.status_code == 400 and message == FASTAPI_UNPARSEABLE_BODY:
        message = "the request body cannot be parsed: send UTF-8 JSON (multipart/form-data to /upload)"
    return error_response(exc.status_code, _code_for_status(exc.status_code), message, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"]) or "request"
    return error_response(422, "validation_error", f"{where}: {first['msg']}", details=problems)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "internal error: the server log has the details")


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer these error statuses, so its API docs list them."""
    return {status: {"model": ErrorResponse} for status in statuses}


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error in the one JSON shape; call it before the routers are included.

    Besides the 422 every route documents, every route may answer 400: an ``invalid`` error of
    the runtime, or a body that cannot be parsed (FastAPI's own 400), so the API docs say so once.
    """
    app.router.responses.setdefault(400, {"model": ErrorResponse, "description": "invalid, or a body not parseable"})
    app.add_exception_handler(errors.PenguinError, _penguin_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
