"""A conversation: its state and turns, the agent loop that runs them, and the directory that places them.

- ``Conversation`` (``conversation.py``): one conversation's history, mailbox and turns;
- ``Turn`` (``turn.py``) on ``FrameLog`` (``frames.py``): a turn's stream of frames, resumable;
- ``Engine`` (``engine.py``): the agent loop (model call, tools, model call…); ``prompt.py``
  what the model is told; ``ports.py`` what a conversation needs from the rest;
- ``ConversationHost`` (``host.py``): many conversations in one process, each with its own state and
  mailbox; ``pace.py`` widens the frame window under load;
- ``ConversationDirectory`` (``directory.py``): which host holds each active conversation
  (``placement.py``), activation, passivation and the bounds on live conversations and hosts.

Plain classes: ``edge`` runs them as Ray actors. Importing this package never loads Ray.
"""

from penguin_actors.conversation.conversation import Conversation, Passivating
from penguin_actors.conversation.directory import ConversationDirectory, Hosts
from penguin_actors.conversation.engine import Engine
from penguin_actors.conversation.frames import TERMINAL_EVENTS, Frame, FrameLog
from penguin_actors.conversation.host import ConversationHost, NotHosted
from penguin_actors.conversation.turn import Turn

__all__ = [
    "TERMINAL_EVENTS",
    "Conversation",
    "ConversationDirectory",
    "ConversationHost",
    "Engine",
    "Frame",
    "FrameLog",
    "Hosts",
    "NotHosted",
    "Passivating",
    "Turn",
]
