"""A fake LLM provider over real HTTP on loopback, speaking the OpenAI and Anthropic wire formats.

The official SDKs talk to it as they would to the real services, so tests exercise
the providers end to end without a network. Tests script what the "model" says with
protocol-neutral ``Reply`` values and inspect what the client sent in ``requests``::

    with FakeLLM() as fake:
        fake.script("Hello there", Reply.error(429, retry_after=1))
        ...  # point a client at fake.base_url (OpenAI clients: fake.base_url + "/v1")
        assert fake.requests[0].body["model"] == "claude-x"

It also runs on its own for load tests::

    python -m penguin_actors.testing.fake_llm --port 9100 --words 200 --chunk-delay 0.01

Routes: ``POST /v1/chat/completions`` (OpenAI, ``openai.py``), ``POST /v1/messages``
(Anthropic, ``anthropic.py``), ``GET /v1/models`` (either format, by the ``anthropic-version``
header), and ``POST /v1/embeddings`` (OpenAI), scripted through ``fake.embeddings`` (``embeddings.py``).
The server and its routing are in ``server.py``, what tests script in ``script.py``.
"""

from __future__ import annotations

from penguin_actors.testing.fake_llm.cli import main
from penguin_actors.testing.fake_llm.embeddings import FakeEmbeddings
from penguin_actors.testing.fake_llm.script import (
    DefaultReply,
    FakeToolCall,
    RecordedRequest,
    Reply,
    StopReason,
    WireFormat,
)
from penguin_actors.testing.fake_llm.server import FakeLLM

__all__ = [
    "DefaultReply",
    "FakeEmbeddings",
    "FakeLLM",
    "FakeToolCall",
    "RecordedRequest",
    "Reply",
    "StopReason",
    "WireFormat",
    "main",
]
