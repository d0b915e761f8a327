"""Shared fixtures: one Ray and one Serve instance for the whole test session."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import httpx
import pytest

from penguin_actors.models.catalog import BUILTIN_CATALOG
from penguin_actors.testing.fake_llm import FakeLLM
from penguin_actors.testing.ports import free_port
from tests.support import FAKE_KEY, FAKE_KEY_ENV, Server, fake_catalog, make_settings, stop_runtime

# Tests never use Ray's token authentication; the docs say how to run with it.
os.environ["RAY_AUTH_MODE"] = "disabled"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# No test may reach a real provider: their keys never reach the test's Ray workers.
for _key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "PENGUIN_API_KEY"):
    os.environ.pop(_key, None)
# The key of the models that talk to the loopback fake LLM; Ray's workers inherit it.
os.environ[FAKE_KEY_ENV] = FAKE_KEY


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
def fake_llm() -> Iterator[FakeLLM]:
    """One loopback fake LLM (OpenAI and Anthropic wire protocols) for the session."""
    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def llm(fake_llm: FakeLLM) -> FakeLLM:
    """The session's fake LLM with no scripted replies or recorded requests left from other tests."""
    fake_llm.reset()
    return fake_llm


# How conversations are hosted: many per Ray actor (the default), or each its own actor conv:<id>.
MODES: dict[str, dict[str, object]] = {"hosted": {}, "solo": {"activation.conversations_per_actor": 1}}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of the server runs against the hosted server; those marked ``both_modes`` also in solo mode."""
    if "server_mode" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_modes") is not None
        metafunc.parametrize("server_mode", list(MODES) if both else ["hosted"], indirect=True, scope="session")


@pytest.fixture(scope="session")
def server_mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


@pytest.fixture(scope="session")
def server(
    ray_session: None, fake_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory, server_mode: str
) -> Iterator[Server]:
    from ray import serve

    from serve_app.app import APP_NAME, build

    port = free_port()
    # The built-in catalog (so the API shows it), with a sim that answers at once, plus the test models.
    builtin = [m.model_dump() for m in BUILTIN_CATALOG if m.id != "sim"]
    fast_sim = {"id": "sim", "name": "sim/penguin-sim", "provider": "sim", "vision_enabled": True, "reply_tokens": 20}
    catalog = [*builtin, fast_sim, *fake_catalog(fake_llm.base_url)]
    overrides = {"server.port": port, "models.catalog": catalog, "models.default": "sim", **MODES[server_mode]}
    settings = make_settings(tmp_path_factory.mktemp(f"workspace-{server_mode}"), **overrides)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build(settings), name=APP_NAME, route_prefix="/")
    yield Server(f"http://127.0.0.1:{port}", settings)
    serve.shutdown()
    stop_runtime(settings.ray.namespace)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http
