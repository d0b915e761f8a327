"""Browser login and logout: the ``penguin_session`` cookie (``sessions.py``). These routes need no key."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from penguin_actors.errors import Invalid
from serve_app.deps import SettingsDep
from serve_app.errors import error_response
from serve_app.schemas import ErrorResponse, SessionCreate, SessionState
from serve_app.security import has_valid_key, key_matches
from serve_app.sessions import COOKIE, LIFETIME_S, is_secure, new_session

router = APIRouter(tags=["auth"])
LOGGED_IN = {"method": "api_key", "subject": "api_client"}


@router.post(
    "/auth/session",
    response_model=SessionState,
    responses={400: {"model": ErrorResponse}, 401: {"model": ErrorResponse}},
)
async def log_in(body: SessionCreate, request: Request, settings: SettingsDep) -> Response:
    """Trade the API key for an HttpOnly session cookie that authenticates this origin's requests and WebSockets."""
    api_key = settings.server.api_key
    if api_key is None:
        raise Invalid("this server has no API key: every request is accepted without logging in")
    if not key_matches(body.token, api_key):
        return error_response(401, "unauthorized", "Invalid local authorization token: give the server's API key")
    value, expires = new_session(api_key)
    answer = SessionState(authenticated=True, expires_at=expires, **LOGGED_IN)
    response = Response(answer.model_dump_json(), media_type="application/json")
    response.set_cookie(
        COOKIE, value, max_age=LIFETIME_S, path="/", httponly=True, samesite="strict", secure=is_secure(request)
    )
    return response


@router.get("/auth/session", response_model=SessionState)
async def session(request: Request, settings: SettingsDep) -> SessionState:
    """Whether this request is authenticated (by a session, or a key it carries)."""
    api_key = settings.server.api_key
    if api_key is None or has_valid_key(request, api_key):
        return SessionState(authenticated=True, **(LOGGED_IN if api_key is not None else {"method": "none"}))
    return SessionState(authenticated=False)


@router.delete("/auth/session", response_model=SessionState)
@router.post("/auth/logout", response_model=SessionState)
async def log_out() -> Response:
    """End the browser session: its cookie is removed (``POST /auth/logout`` is the original's route)."""
    response = Response(SessionState(authenticated=False).model_dump_json(), media_type="application/json")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
