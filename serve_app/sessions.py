"""Browser sessions: a cookie that stands in for the API key, as the original Penguin page logs in.

``POST /api/v1/auth/session`` with the right key sets ``penguin_session``: HttpOnly,
SameSite=Strict, 12 hours. Its value is not the key but ``v1.<expires>.<nonce>.<mac>``,
an HMAC-SHA256 signature made with a secret derived from the key, so every ingress
replica checks it without shared state, and changing the key ends every session. A
cookie only counts on a request from the page's own origin (or a listed CORS origin):
browsers send it with cross-site WebSocket handshakes, which SameSite alone does not stop.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from pydantic import SecretStr
from starlette.requests import HTTPConnection

COOKIE = "penguin_session"
LIFETIME_S = 12 * 3600
VERSION = "v1"


def _secret(api_key: SecretStr) -> bytes:
    return hashlib.sha256(b"penguin-session:" + api_key.get_secret_value().encode()).digest()


def _mac(api_key: SecretStr, payload: str) -> str:
    return hmac.new(_secret(api_key), payload.encode(), hashlib.sha256).hexdigest()


def new_session(api_key: SecretStr, clock: Callable[[], float] = time.time) -> tuple[str, int]:
    """A session cookie's value for this key, and when it expires (epoch seconds)."""
    expires = int(clock()) + LIFETIME_S
    payload = f"{VERSION}.{expires}.{secrets.token_hex(8)}"
    return f"{payload}.{_mac(api_key, payload)}", expires


def valid_session(value: str, api_key: SecretStr, clock: Callable[[], float] = time.time) -> bool:
    """The value was made by ``new_session`` with this key and has not expired."""
    version, _, rest = value.partition(".")
    expires, _, rest = rest.partition(".")
    nonce, _, mac = rest.partition(".")
    if version != VERSION or not expires.isdigit() or not nonce or not mac:
        return False
    if not hmac.compare_digest(mac, _mac(api_key, f"{version}.{expires}.{nonce}")):
        return False
    return int(expires) > clock()


def same_origin(conn: HTTPConnection, allowed: list[str]) -> bool:
    """The request comes from this server's own pages (or a listed origin), or names no origin (not a browser's
    cross-site request)."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    if origin in allowed:
        return True
    return urlsplit(origin).netloc == conn.headers.get("host", "")


def has_session(conn: HTTPConnection, api_key: SecretStr, allowed_origins: list[str]) -> bool:
    value = conn.cookies.get(COOKIE)
    return value is not None and valid_session(value, api_key) and same_origin(conn, allowed_origins)


def is_secure(conn: HTTPConnection) -> bool:
    """Reached over HTTPS (directly, or through a proxy that says so)."""
    return conn.url.scheme in ("https", "wss") or conn.headers.get("x-forwarded-proto") == "https"
