"""Ports for test servers: free, below the kernel's ephemeral range, never handed out twice."""

from __future__ import annotations

import socket

import pytest

from penguin_actors.testing import ports


def test_ports_are_distinct_bindable_and_outside_the_ephemeral_range() -> None:
    taken = [ports.free_port() for _ in range(50)]
    assert len(set(taken)) == len(taken)
    assert all(20000 <= port < ports._ephemeral_start() for port in taken)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", taken[-1]))


def test_a_port_in_use_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        in_use = busy.getsockname()[1]
        choices = iter([in_use, in_use + 1 if in_use + 1 < 60000 else in_use - 1])
        monkeypatch.setattr(ports, "_ephemeral_start", lambda: 65535)
        monkeypatch.setattr(ports._random, "randint", lambda *_: next(choices))
        assert ports.free_port() != in_use
