"""The environment of child processes: an allow-list of harmless variables, never a secret.

Code the model runs sees only what it needs to work (PATH, HOME, locale, time zone,
temp dir, a few Python switches). Everything else is dropped, and a deny-list of
secret-looking names is applied on top, so even an allowed prefix such as ``LC_``
cannot carry a key through.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase

ALLOWED_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "TERM",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "VIRTUAL_ENV",
        # Python switches that change nothing but encoding, buffering and bytecode files.
        "PYTHONIOENCODING",
        "PYTHONUTF8",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
    }
)
ALLOWED_PATTERNS = ("LC_*",)
DENIED_PATTERNS = (
    "*_API_KEY",
    "*APIKEY*",
    "*_KEY",
    "*_TOKEN",
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*CREDENTIAL*",
    "AWS_*",
    "PENGUIN_*",
    "RAY_AUTH*",
    "ANTHROPIC_*",
    "OPENAI_*",
)
# Set unless the caller's environment says otherwise: output of a killed Python child is not lost in a buffer.
DEFAULTS = {"PYTHONUNBUFFERED": "1"}


def safe_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The scrubbed copy of ``environ`` that tools hand to child processes."""
    kept = {name: value for name, value in environ.items() if _allowed(name) and not _denied(name)}
    return DEFAULTS | kept


def _allowed(name: str) -> bool:
    return name in ALLOWED_NAMES or any(fnmatchcase(name, pattern) for pattern in ALLOWED_PATTERNS)


def _denied(name: str) -> bool:
    upper = name.upper()
    return any(fnmatchcase(upper, pattern) for pattern in DENIED_PATTERNS)
