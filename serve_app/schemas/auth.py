"""Browser login: a session cookie for the API key, as the original Penguin page logs in."""

from __future__ import annotations

from pydantic import Field

from serve_app.schemas.base import Schema


class SessionCreate(Schema):
    token: str = Field(min_length=1, max_length=4096, description="the server's API key")


class SessionState(Schema):
    authenticated: bool
    method: str | None = Field(None, description="how: api_key (a login), or none")
    subject: str | None = None
    expires_at: int | None = Field(None, description="epoch seconds the session cookie expires at")
