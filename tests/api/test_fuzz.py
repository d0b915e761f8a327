"""Fuzz the HTTP API from its own OpenAPI document with schemathesis: no 5xx, every response as declared.

Schemathesis's Python API makes a Hypothesis strategy per operation; each runs as a plain
``@given`` test here, so neither the Hypothesis nor the Schemathesis pytest plugin is needed
(pyproject disables the former). Bounded to about two minutes on a 2-core machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import Server

pytestmark = pytest.mark.ray

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
MAX_EXAMPLES = 20  # per operation and generation mode: about 90 s for the whole API here
# Operations that start a model turn: each example starts a conversation actor (a process, ~0.5 s).
FEWER_EXAMPLES = {"POST /api/v1/chat/message": 6}
# Operations left out: they start work that outlives the request or runs for minutes.
SKIPPED = {
    "POST /api/v1/tasks/execute": "starts a background task; a continuous one runs up to its time_limit",
    "POST /api/v1/tasks/execute-sync": "runs a whole task, up to its time_limit, inside the request",
}


@pytest.fixture
def api_schema(server: Server) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{server.base_url}/api/openapi.json")


@pytest.fixture
def keep_current_model(client: httpx.Client) -> Iterator[Callable[[], None]]:
    """Put the session's current model back (fuzzing /models/load may switch it)."""
    model_id = client.get("/api/v1/models/current").json()["id"]

    def restore() -> None:
        if client.get("/api/v1/models/current").json()["id"] != model_id:
            assert client.post("/api/v1/models/load", json={"model_id": model_id}).status_code == 200

    yield restore
    restore()


def modes_of(operation: schemathesis.APIOperation) -> list[GenerationMode]:
    """Valid requests always; invalid ones where there is an input to get wrong (a parameter or a body)."""
    has_input = any(True for _ in operation.iter_parameters()) or bool(list(operation.body))
    return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if has_input else [GenerationMode.POSITIVE]


def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, base_url: str, session: requests.Session) -> None:
    examples = FEWER_EXAMPLES.get(operation.label, MAX_EXAMPLES)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples on every run: a failure here is reproducible
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, session=session, timeout=60)
        case.validate_response(response, checks=CHECKS)

    check()


def test_the_api_survives_fuzzing_and_answers_as_documented(
    server: Server, api_schema: schemathesis.BaseSchema, keep_current_model: Callable[[], None]
) -> None:
    """Schema-generated valid and invalid requests to every HTTP operation get no 5xx and documented answers."""
    failures: list[str] = []
    tested: list[str] = []
    with requests.Session() as session:
        for result in api_schema.get_all_operations():
            operation = result.ok()
            if operation.label in SKIPPED:
                continue
            for mode in modes_of(operation):
                try:
                    fuzz(operation, mode, server.base_url, session)
                except (Exception, BaseExceptionGroup) as exc:  # every operation's failures, then fail once with all
                    failures.append(f"{operation.label} ({mode.value}):\n{exc}")
                finally:
                    keep_current_model()
            tested.append(operation.label)
    assert len(tested) >= 20, tested
    assert not failures, "\n\n".join(failures)
