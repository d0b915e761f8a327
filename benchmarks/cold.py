"""Cold turns: every turn goes to a conversation created just before it (no warm-up).

A cold client creates a conversation, then sends it its first message, which activates it:
over HTTP (``POST /api/v1/conversations/create``, then ``POST /api/v1/chat/message``), over a
WebSocket that stays open while each turn names its new conversation, or (the baseline) in
this process (``LocalRuntime``: create, activate, turn). Each ``ColdTurn`` keeps when the
create began beside the first message's own ``TurnResult``, so a step reports the first
message alone, create and first message together, and the round's wall from the first
create to the last end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from benchmarks import harness
from benchmarks.baseline import LocalClient, LocalRuntime
from benchmarks.clients import HttpClient, TurnResult, WsClient, create_conversation
from benchmarks.profile import Profiler
from benchmarks.profile import Target as ProfileTarget
from benchmarks.scenarios import Scenario, Shape, Transport
from benchmarks.steps import measured, step_figures


@dataclass
class ColdTurn:
    """A conversation created at ``began``, and its first message (``turn.sent`` once it was created)."""

    began: float
    turn: TurnResult

    @property
    def create_first(self) -> float | None:
        """Create and first message together, in seconds."""
        return None if self.turn.done is None else self.turn.done - self.began


class ColdClient(Protocol):
    async def cold_turn(self, text: str, model_id: str) -> ColdTurn: ...


# (transport, count) -> that many cold clients, for one step (closed after it)
ColdClients = Callable[[Transport, int], AbstractAsyncContextManager[list[ColdClient]]]


def _failed(began: float, exc: Exception) -> ColdTurn:
    now = time.perf_counter()
    return ColdTurn(began, TurnResult(sent=now, done=now, error=f"create failed: {type(exc).__name__}: {exc}"))


class HttpColdClient:
    """A new conversation through the API, then its first ``POST /api/v1/chat/message``."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def cold_turn(self, text: str, model_id: str) -> ColdTurn:
        began = time.perf_counter()
        try:
            conversation_id = await create_conversation(self.http, "cold")
        except httpx.HTTPError as exc:
            return _failed(began, exc)
        return ColdTurn(began, await HttpClient(self.http, conversation_id).turn(text, model_id))


class WsColdClient:
    """One chat WebSocket, kept open; each turn creates a conversation through the API and names it."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http = http
        self.socket = WsClient(url, "")

    async def cold_turn(self, text: str, model_id: str) -> ColdTurn:
        began = time.perf_counter()
        try:
            self.socket.conversation_id = await create_conversation(self.http, "cold")
        except httpx.HTTPError as exc:
            return _failed(began, exc)
        return ColdTurn(began, await self.socket.turn(text, model_id))


class LocalColdClient:
    """The baseline: a conversation created in the store, activated, then its first turn, in this process."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime

    async def cold_turn(self, text: str, model_id: str) -> ColdTurn:
        began = time.perf_counter()
        conversation_id = await self.runtime.create("cold")
        sent = time.perf_counter()  # the first message includes the activation, as on the server
        try:
            conversation = await self.runtime.activate(conversation_id)
        except Exception as exc:  # the turn's error, reported with the others
            return ColdTurn(began, TurnResult(sent=sent, done=time.perf_counter(), error=f"activation: {exc!r}"))
        result = await LocalClient(conversation).turn(text, model_id)
        result.sent = sent
        return ColdTurn(began, result)


def server_clients(http: httpx.AsyncClient, ws_url: str) -> ColdClients:
    """Cold clients of a server: HTTP ones share ``http``; WebSocket ones open a socket each, closed after the step."""

    @contextlib.asynccontextmanager
    async def clients(transport: Transport, count: int) -> AsyncIterator[list[ColdClient]]:
        if transport == "http":
            yield [HttpColdClient(http) for _ in range(count)]
            return
        sockets = [WsColdClient(http, ws_url) for _ in range(count)]
        await asyncio.gather(*(s.socket.open() for s in sockets))
        try:
            yield list(sockets)
        finally:
            for s in sockets:
                await s.socket.close()

    return clients


def local_clients(runtime: LocalRuntime) -> ColdClients:
    """Cold clients of the baseline: every transport is the same call in this process."""

    @contextlib.asynccontextmanager
    async def clients(transport: Transport, count: int) -> AsyncIterator[list[ColdClient]]:
        yield [LocalColdClient(runtime) for _ in range(count)]

    return clients


async def run_cold_step(
    make: ColdClients,
    profile: tuple[ProfileTarget, Profiler] | None,
    scenario: Scenario,
    count: int,
    shape: Shape,
) -> dict[str, Any]:
    """A cold step: each round, ``count`` clients each create a conversation and send it its first message."""
    async with make(scenario.transport, count) as clients:

        async def one_round(r: int) -> list[ColdTurn]:
            texts = [f"cold {scenario.name}, client {i}, round {r}: hello" for i in range(count)]
            return await asyncio.gather(*(c.cold_turn(t, scenario.model) for c, t in zip(clients, texts, strict=True)))

        rounds, usage = await measured(profile, scenario, count, one_round)
    return cold_figures(rounds, shape) | usage


def cold_figures(rounds: list[list[ColdTurn]], shape: Shape) -> dict[str, Any]:
    """The step's figures: the first message alone (latency, TTFT), create and first message together
    (``create_first_ms``), and the round's wall from its first create to its last end (``wall_s``)."""
    walls = [max(c.turn.done or c.turn.sent for c in r) - min(c.began for c in r) for r in rounds]
    figures = step_figures([[c.turn for c in r] for r in rounds], shape, walls)
    together = [c.create_first * 1000 for r in rounds for c in r if c.turn.error is None and c.create_first]
    return figures | {"create_first_ms": harness.summary(together)}
