"""Shared fixtures: one Ray and one Serve instance for the whole test session."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import httpx
import pytest

from tests.support import Server, free_port, make_settings

# Tests never use Ray's token authentication; the docs say how to run with it.
os.environ["RAY_AUTH_MODE"] = "disabled"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# No test may reach a real provider: their keys never reach the test's Ray workers.
for _key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "PENGUIN_API_KEY"):
    os.environ.pop(_key, None)


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    import ray

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        namespace="penguin",
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def server(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from ray import serve

    from serve_app.app import APP_NAME, build

    port = free_port()
    settings = make_settings(tmp_path_factory.mktemp("workspace"), **{"server.port": port})
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build(settings), name=APP_NAME, route_prefix="/")
    yield Server(f"http://127.0.0.1:{port}", settings)
    serve.shutdown()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http
