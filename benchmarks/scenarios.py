"""The load benchmark's scenarios: the models' pace, who sends what, and the settings that give every client room."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from benchmarks import modes

FAKE_KEY_ENV = "BENCH_FAKE_LLM_KEY"  # not PENGUIN_*: those are settings
FAKE_KEY = "sk-bench-fake-llm"
Transport = Literal["ws", "http"]


@dataclass(frozen=True)
class Shape:
    """A model's pace: the first token after ``first_s``, then ``tokens`` in all at ``rate`` a second."""

    first_s: float
    rate: float
    tokens: int

    @property
    def ideal_s(self) -> float:
        """The model's own time for one turn: its last token is due then."""
        return self.first_s + ((self.tokens - 1) / self.rate if self.rate else 0.0)

    def sim(self, model_id: str) -> dict[str, Any]:
        return {
            "id": model_id,
            "name": f"sim/{model_id}",
            "provider": "sim",
            "first_token_delay_s": self.first_s,
            "tokens_per_s": self.rate,
            "reply_tokens": self.tokens,
            "max_tokens": max(4096, self.tokens),
        }


@dataclass(frozen=True)
class Scenario:
    """Who sends what: ``clients`` levels N, ``rounds`` per level; ``cold``: every turn to a new conversation."""

    name: str
    transport: Transport
    model: str
    clients: tuple[int, ...]
    rounds: int
    what: str
    cold: bool = False


FULL_SHAPES = {
    "sim-stream": Shape(0.2, 50, 100),
    "openai-stream": Shape(0.2, 50, 100),  # the fake LLM: 100 one-word chunks, 20 ms apart
    "sim-instant": Shape(0.0, 0, 50),
    "sim-1s": Shape(0.2, 50, 41),
    "sim-relay": Shape(0.0, 1000, 2000),
}
QUICK_SHAPES = FULL_SHAPES | {  # the same first-token delays and rates, shorter replies
    "sim-stream": Shape(0.2, 50, 11),
    "openai-stream": Shape(0.2, 50, 11),
    "sim-1s": Shape(0.2, 50, 11),
    "sim-relay": Shape(0.0, 1000, 300),
}
SCENARIOS = (
    Scenario(
        "ws-sim", "ws", "sim-stream", (1, 8, 32, 64, 256), 5, "WebSocket, sim: 200 ms to first token, 50 tokens/s"
    ),
    Scenario("ws-openai", "ws", "openai-stream", (1, 8, 32, 64), 5, "WebSocket, openai SDK against the fake LLM"),
    Scenario("http-sim", "http", "sim-stream", (1, 8, 32, 64), 5, "POST /chat/message, the same sim"),
    Scenario("http-instant", "http", "sim-instant", (1, 8, 32), 30, "POST /chat/message, 50 tokens at once"),
    Scenario("http-1s", "http", "sim-1s", (1, 8, 32, 64), 5, "POST /chat/message, ~1 s replies"),
    Scenario("relay", "ws", "sim-relay", (32,), 3, "WebSocket, sim at 1,000 tokens/s per stream"),
    Scenario(
        "http-cold", "http", "sim-instant", (1, 32), 5,
        "POST /conversations/create, then the first POST /chat/message, 50 tokens at once", cold=True,
    ),
    Scenario(
        "ws-cold", "ws", "sim-instant", (1, 32), 5,
        "POST /conversations/create, then the first message on an open WebSocket, 50 tokens at once", cold=True,
    ),
)  # fmt: skip
QUICK_CLIENTS = (1, 4)
QUICK_ROUNDS = {"http-instant": 5}


def quick_scenarios() -> tuple[Scenario, ...]:
    return tuple(
        replace(
            s,
            clients=(4,) if s.name == "relay" else QUICK_CLIENTS,
            rounds=QUICK_ROUNDS.get(s.name, 1),
        )
        for s in SCENARIOS
    )


def catalog(shapes: dict[str, Shape], fake_base_url: str) -> list[dict[str, Any]]:
    models = [shape.sim(model_id) for model_id, shape in shapes.items() if model_id.startswith("sim-")]
    models.append(
        {
            "id": "openai-stream",
            "name": "openai/fake-stream",
            "provider": "openai",
            "base_url": f"{fake_base_url}/v1",
            "api_key_env": FAKE_KEY_ENV,
        }
    )
    return models


def pools(scenarios: tuple[Scenario, ...]) -> dict[Transport, int]:
    """The warm clients by transport: each transport's clients are reused from step to step, so its largest N."""
    found: dict[Transport, int] = {}
    for s in scenarios:
        if not s.cold:
            found[s.transport] = max(found.get(s.transport, 0), *s.clients)
    return found


def within_solo(scenarios: Sequence[Scenario]) -> tuple[Scenario, ...]:
    """The scenarios with their client counts past ``modes.SOLO_MAX_CLIENTS`` left out: solo runs those not."""
    kept = (replace(s, clients=tuple(n for n in s.clients if n <= modes.SOLO_MAX_CLIENTS)) for s in scenarios)
    return tuple(s for s in kept if s.clients)


def cold_conversations(scenarios: tuple[Scenario, ...]) -> int:
    """The conversations the cold scenarios create: one per turn, N turns a round."""
    return sum(s.rounds * sum(s.clients) for s in scenarios if s.cold)


def settings_sections(scenarios: tuple[Scenario, ...], mode: modes.Mode) -> dict[str, dict[str, Any]]:
    """What the benchmark changes from the defaults: room for every client, no per-client limits.

    ``hosted`` holds every conversation of the run at once (the warm clients and every cold one:
    no eviction in a cold turn), on the default number of hosts, made big enough. ``solo`` runs a
    process per conversation, and the whole run's would not fit in memory: it has room for the
    largest pool of clients it runs (up to ``modes.SOLO_MAX_CLIENTS``), so a step's clients are all
    active, and older idle conversations are evicted.
    """
    warm = pools(scenarios)
    if mode.solo:
        room = min(max(warm.values(), default=0), modes.SOLO_MAX_CLIENTS)
    else:
        room = sum(warm.values()) + cold_conversations(scenarios)
    return {
        "activation": modes.activation(mode, max(64, room), idle_timeout_s=3600),
        "limits": {"max_websockets_per_client": 0, "ws_messages_per_minute": 0, "requests_per_minute": 0},
    }
