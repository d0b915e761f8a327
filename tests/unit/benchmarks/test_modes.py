"""The server benchmarks' modes: which servers run, and the room each mode's settings give."""

from __future__ import annotations

import pytest

from benchmarks import modes, scenarios
from benchmarks.scenarios import SCENARIOS, quick_scenarios, settings_sections


def test_modes_are_named_in_the_order_given_each_once() -> None:
    assert modes.parse("hosted,solo") == (modes.HOSTED, modes.SOLO)
    assert modes.parse(" solo , hosted,solo") == (modes.SOLO, modes.HOSTED)
    assert modes.HOSTED.key == "server"  # the report's old key, so old readers work
    assert modes.SOLO.solo and not modes.HOSTED.solo


@pytest.mark.parametrize("text", ["", "hosted,many", ","])
def test_an_unknown_mode_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--modes"):
        modes.parse(text)


def test_solo_is_one_conversation_per_actor_and_hosted_gets_room_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hosted keeps the default number of hosts (one per CPU) and makes them big enough."""
    monkeypatch.setattr(modes.os, "cpu_count", lambda: 2)

    assert modes.activation(modes.SOLO, 300) == {"max_active": 300, "conversations_per_actor": 1}
    assert modes.activation(modes.HOSTED, 1000, idle_timeout_s=60) == {
        "max_active": 1000,
        "idle_timeout_s": 60,
        "conversations_per_actor": 500,  # 1,000 conversations on two hosts
    }
    small = 2 * modes.per_host()
    assert modes.activation(modes.HOSTED, small) == {"max_active": small}  # two default hosts hold them


def test_the_load_run_has_room_for_every_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modes.os, "cpu_count", lambda: 2)

    assert scenarios.pools(SCENARIOS) == {"ws": 256, "http": 64}
    assert scenarios.cold_conversations(SCENARIOS) == 2 * 5 * (1 + 32)
    hosted = settings_sections(SCENARIOS, modes.HOSTED)["activation"]
    assert hosted["max_active"] == 256 + 64 + 330  # warm and cold: no eviction in a cold turn
    assert 2 * hosted.get("conversations_per_actor", modes.per_host()) >= hosted["max_active"]
    solo = settings_sections(SCENARIOS, modes.SOLO)["activation"]
    # the largest pool solo runs: N = 256 is left out (a process each)
    assert solo == {"max_active": modes.SOLO_MAX_CLIENTS, "idle_timeout_s": 3600, "conversations_per_actor": 1}
    assert [s.clients for s in scenarios.within_solo(SCENARIOS) if s.name == "ws-sim"] == [(1, 8, 32, 64)]
    quick = settings_sections(quick_scenarios(), modes.HOSTED)["activation"]
    assert quick == {"max_active": 64, "idle_timeout_s": 3600}


def test_the_quick_run_is_small_and_keeps_the_cold_scenarios() -> None:
    quick = {s.name: s for s in quick_scenarios()}

    assert quick["http-cold"].cold and quick["ws-cold"].cold
    assert quick["http-cold"].clients == (1, 4) and quick["http-cold"].rounds == 1
    assert quick["relay"].clients == (4,)
    assert {s.name: s for s in SCENARIOS}["ws-sim"].clients == (1, 8, 32, 64, 256)
