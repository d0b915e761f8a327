"""Free TCP ports for servers started by tests and benchmarks.

A port taken with ``bind(("127.0.0.1", 0))`` comes from the kernel's ephemeral range, which is
also where Ray picks the ports of its own processes while it starts. A server told to use such
a port can find it taken by the time it binds. The ports handed out here lie below the ephemeral
range and above Ray's worker ports (10002-19999), and each is handed out once per process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 20000
_handed_out: set[int] = set()
_random = random.SystemRandom()  # not the shared generator, which a test may seed


def _ephemeral_start() -> int:
    try:
        return int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port that is free now, outside the ephemeral range, not handed out before."""
    highest = _ephemeral_start() - 1
    if highest <= _LOWEST:  # an unusual range: fall back to what the kernel picks
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            return port
    for _ in range(200):
        port = _random.randint(_LOWEST, highest)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free loopback port between {_LOWEST} and {highest}")
