"""A conversation: its state and turns, the agent loop that runs them, and the directory that places them.

- ``Conversation`` (``conversation.py``): one conversation's history, mailbox and turns;
- ``Turn`` (``turn.py``) on ``FrameLog`` (``frames.py``): a turn's stream of frames, resumable;
- ``Engine`` (``engine.py``): the agent loop (model call, tools, model call…); ``prompt.py``
  what the model is told; ``ports.py`` what a conversation needs from the rest;
- ``ConversationDirectory`` (``directory.py``): activation, passivation and the bound on live ones.

Plain classes: ``edge`` runs them as Ray actors. Importing this package never loads Ray.
"""

from penguin_actors.conversation.conversation import Conversation, Passivating
from penguin_actors.conversation.directory import ConversationDirectory, Spawner
from penguin_actors.conversation.engine import Engine
from penguin_actors.conversation.frames import TERMINAL_EVENTS, Frame, FrameLog
from penguin_actors.conversation.turn import Turn

__all__ = [
    "TERMINAL_EVENTS",
    "Conversation",
    "ConversationDirectory",
    "Engine",
    "Frame",
    "FrameLog",
    "Passivating",
    "Spawner",
    "Turn",
]
