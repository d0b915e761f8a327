"""The runtime's errors: one base class and a few kinds, each with a stable ``code``.

The HTTP layer maps each kind to a status code; the runtime itself knows nothing
about HTTP. Messages are written for the person reading them and say what to do.
"""

from __future__ import annotations

from typing import Any


class PenguinError(Exception):
    """Base of every error the runtime raises on purpose."""

    code = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the kind, message and details when Ray ships the error between processes.
        return (_rebuild, (type(self), self.message, self.details))


def _rebuild(cls: type[PenguinError], message: str, details: dict[str, Any]) -> PenguinError:
    return cls(message, **details)


class NotFound(PenguinError):
    code = "not_found"


class Conflict(PenguinError):
    code = "conflict"


class Invalid(PenguinError):
    code = "invalid"


class TooLarge(PenguinError):
    code = "too_large"


class Unavailable(PenguinError):
    """A component the request needs is not running or not reachable."""

    code = "unavailable"


class ConfigError(PenguinError):
    code = "config"


class ProviderError(PenguinError):
    """A model provider failed; ``retryable`` tells whether trying again may help."""

    code = "provider_error"

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None, **details: Any) -> None:
        super().__init__(message, retryable=retryable, status=status, **details)
        self.retryable = retryable
        self.status = status
