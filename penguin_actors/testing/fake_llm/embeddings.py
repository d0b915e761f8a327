"""The fake LLM's ``POST /v1/embeddings``: OpenAI's embeddings API, deterministic, scriptable, able to fail.

A text's vector is, unless a test defined it, a bag of its words hashed into the
dimensions and normalised: texts that share words are alike, texts that share none
are nearly orthogonal (a hash collision counts a fraction of a shared word). So a test that wants a match by meaning
says which texts mean the same::

    fake.embeddings.alias("where are the credentials?", "The deploy key lives in the vault")
    fake.embeddings.fail(503)  # every request fails until recover()

Requests are recorded with the fake LLM's others (``FakeLLM.requests``).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
import threading
from collections.abc import Sequence
from typing import Any

from starlette.responses import JSONResponse, Response

DEFAULT_DIMENSIONS = 256
_SPREAD = 4  # dimensions per word
_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 429: "requests"}


class FakeEmbeddings:
    """Vectors for ``/v1/embeddings`` requests; thread-safe (tests script it while the server thread answers)."""

    def __init__(self, dimensions: int = DEFAULT_DIMENSIONS) -> None:
        """``dimensions``: the vectors' length when a request does not ask for one."""
        self.dimensions = dimensions
        self._lock = threading.Lock()
        self._defined: dict[str, list[float]] = {}
        self._aliases: dict[str, str] = {}
        self._failure: tuple[int, str, int | None] | None = None  # status, message, requests left (None: all)

    # -- scripting (any thread) --------------------------------------------------------------------

    def define(self, text: str, vector: Sequence[float]) -> FakeEmbeddings:
        """``text`` (stripped) gets exactly ``vector``, whatever length a request asks for."""
        with self._lock:
            self._defined[text.strip()] = [float(x) for x in vector]
        return self

    def alias(self, text: str, like: str) -> FakeEmbeddings:
        """``text`` gets the same vector as ``like``: the two mean the same."""
        with self._lock:
            self._aliases[text.strip()] = like.strip()
        return self

    def fail(
        self, status: int = 503, message: str = "embedding service unavailable", *, times: int | None = None
    ) -> None:
        """Answer the next ``times`` requests (None: all, until ``recover``) with this HTTP error."""
        with self._lock:
            self._failure = (status, message, times)

    def recover(self) -> None:
        with self._lock:
            self._failure = None

    def reset(self) -> None:
        """Forget defined vectors, aliases and failures."""
        with self._lock:
            self._defined.clear()
            self._aliases.clear()
            self._failure = None

    def vector(self, text: str, dimensions: int | None = None) -> list[float]:
        """The vector ``text`` gets: defined, an alias's, or its hashed words."""
        size = dimensions or self.dimensions
        with self._lock:
            key = text.strip()
            key = self._aliases.get(key, key)
            if key in self._defined:
                return list(self._defined[key])
        return _hashed_words(key, size)

    # -- answering (server thread) -----------------------------------------------------------------

    def respond(self, body: Any, request_id: str) -> Response:
        """The response to a request with JSON ``body``: vectors, a scripted failure, or a 400."""
        headers = {"x-request-id": request_id}
        failure = self._take_failure()
        if failure is not None:
            return _error(*failure, headers)
        problem, texts = _parse(body)
        if problem is not None:
            return _error(400, problem, headers)
        dimensions = body.get("dimensions")
        vectors = [self.vector(text, dimensions) for text in texts]
        as_base64 = body.get("encoding_format") == "base64"
        data = [
            {"object": "embedding", "index": i, "embedding": _base64(v) if as_base64 else v}
            for i, v in enumerate(vectors)
        ]
        tokens = sum(len(text.split()) for text in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage}, headers=headers)

    def _take_failure(self) -> tuple[int, str] | None:
        with self._lock:
            if self._failure is None:
                return None
            status, message, left = self._failure
            if left is not None:
                self._failure = (status, message, left - 1) if left > 1 else None
            return status, message


def _parse(body: Any) -> tuple[str | None, list[str]]:
    """The problem OpenAI would refuse ``body`` for (or None), and its input texts."""
    if not isinstance(body, dict):
        return "body must be a JSON object", []
    if not isinstance(body.get("model"), str):
        return "model: Field required", []
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
        return "'$.input' is invalid: give a non-empty string or list of non-empty strings", []
    dimensions = body.get("dimensions")
    if dimensions is not None and (not isinstance(dimensions, int) or dimensions < 1):
        return "dimensions: must be a positive integer", []
    if body.get("encoding_format", "float") not in ("float", "base64"):
        return "encoding_format: must be 'float' or 'base64'", []
    return None, texts


def _hashed_words(text: str, dimensions: int) -> list[float]:
    """Each word adds ±1 in ``_SPREAD`` hashed dimensions, so two words colliding in one make texts alike
    by a fraction of what one shared word does."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()) or [""]:
        digest = hashlib.blake2b(word.encode(), digest_size=4 * _SPREAD).digest()
        for i in range(0, len(digest), 4):
            vector[int.from_bytes(digest[i : i + 3], "little") % dimensions] += 1.0 if digest[i + 3] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _base64(vector: Sequence[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def _error(status: int, message: str, headers: dict[str, str]) -> Response:
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return JSONResponse(body, status_code=status, headers=headers)
