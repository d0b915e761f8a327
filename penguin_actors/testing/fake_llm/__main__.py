"""``python -m penguin_actors.testing.fake_llm``: serve the fake LLM on its own (see ``cli.py``)."""

from __future__ import annotations

from penguin_actors.testing.fake_llm.cli import main

if __name__ == "__main__":
    main()
