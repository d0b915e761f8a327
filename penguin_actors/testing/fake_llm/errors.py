"""What an HTTP error reply shares in either wire format: its default message and its headers."""

from __future__ import annotations

from penguin_actors.testing.fake_llm.script import Reply


def default_error_message(status: int) -> str:
    return {
        400: "invalid request",
        401: "invalid api key",
        403: "permission denied",
        404: "model not found",
        429: "rate limit exceeded, please slow down",
        500: "internal server error",
        503: "service unavailable",
        529: "overloaded",
    }.get(status, f"error {status}")


def error_headers(reply: Reply) -> dict[str, str]:
    """The reply's own headers, plus ``retry-after`` if it sets one; the protocol adds its request id."""
    headers = dict(reply.headers)
    if reply.retry_after is not None:
        headers["retry-after"] = f"{reply.retry_after:g}"
    return headers
