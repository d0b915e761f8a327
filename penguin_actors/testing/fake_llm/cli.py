"""The fake LLM on its own, for load tests: ``python -m penguin_actors.testing.fake_llm --port 9100``."""

from __future__ import annotations

import argparse
import itertools
import logging
from collections.abc import Sequence

from penguin_actors.testing.fake_llm.prompts import last_user_text
from penguin_actors.testing.fake_llm.script import RecordedRequest, Reply
from penguin_actors.testing.fake_llm.server import FakeLLM

_LOREM = [
    *("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"),
    *("sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore"),
]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI/Anthropic-compatible LLM for load tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--words", type=int, default=0, help="reply with this many words (0: echo the user)")
    parser.add_argument("--first-token-delay", type=float, default=0.0, help="seconds before the first chunk")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--record", action="store_true", help="keep every request in memory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    def reply(recorded: RecordedRequest) -> Reply:
        text = " ".join(itertools.islice(itertools.cycle(_LOREM), args.words)) if args.words else None
        return Reply(
            text=text if text is not None else f"echo: {last_user_text(recorded.body)}",
            first_token_delay_s=args.first_token_delay,
            chunk_delay_s=args.chunk_delay,
        )

    FakeLLM(args.host, args.port, default=reply, record=args.record).serve_forever()
