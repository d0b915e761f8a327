"""Conversation: one conversation's history and turns, one turn at a time.

A plain class, one of many on a conversation host (``host.py``). Its history is
loaded from the store at activation and only ever extended by what the store has
acknowledged. Turns wait in a queue and run one after another; a request that finds a
turn running follows its ``multitask_strategy``: ``enqueue``, ``reject`` (Conflict) or
``interrupt`` (the running and queued turns are cancelled, then the new one runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from penguin_actors.config import Settings
from penguin_actors.conversation.engine import Engine
from penguin_actors.conversation.pace import Pace
from penguin_actors.conversation.ports import ConversationStorePort, DirectoryPort, ModelsPort, ToolRunner
from penguin_actors.conversation.prompt import tool_errors, unanswered_calls
from penguin_actors.conversation.replay import IDEMPOTENCY_WINDOW_S, Sent, sent_messages, stored_result
from penguin_actors.conversation.turn import Frame, Turn
from penguin_actors.errors import Conflict, NotFound, Unavailable
from penguin_actors.models.providers import Providers
from penguin_actors.store.records import CheckpointRecord, ConversationRecord
from penguin_actors.types import Message, TurnRequest

log = logging.getLogger(__name__)

KEPT_TURNS = 16  # finished turns kept in memory for `resume`
TOUCH_INTERVAL_S = 1.0
ACTIVATION_WAIT_S = 30.0  # a call that finds the actor while it is still activating waits this long


class Passivating(Unavailable):
    """The conversation's actor is shutting down; the caller activates it again and retries once."""

    code = "passivating"


class Conversation:
    def __init__(
        self,
        conversation_id: str,
        settings: Settings,
        store: ConversationStorePort,
        models: ModelsPort,
        *,
        env: Mapping[str, str],
        directory: DirectoryPort | None = None,
        tools: ToolRunner | None = None,
        providers: Providers | None = None,
        pace: Pace | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``providers`` and ``pace`` are its host's, shared with the other conversations there (see ``host.py``)."""
        self.id = conversation_id
        self.settings = settings
        self.store = store
        self.directory = directory
        self.engine = Engine(settings, store, models, env, tools, providers)
        self.pace = pace if pace is not None else Pace()
        self.history: list[Message] = []
        self.record: ConversationRecord | None = None
        self._clock = clock
        self._queue: deque[tuple[Turn, TurnRequest]] = deque()
        self._turns: OrderedDict[str, Turn] = OrderedDict()
        self._current: tuple[Turn, asyncio.Task[None]] | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._activated = asyncio.Event()
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()
        self._touched_at = float("-inf")
        self._sent: dict[str, Sent] = {}  # client_message_id -> the send it named
        self.last_used = clock()

    # --- lifecycle --------------------------------------------------------------

    async def activate(self) -> int:
        """Load the record and history from the store and start the turn runner; returns the message count."""
        self.record, self.history = await self.store.open_conversation(self.id)
        unanswered = unanswered_calls(self.history)
        if unanswered:  # the server stopped while these tools ran: say so, so the history stays valid
            results = tool_errors(
                unanswered, "The outcome of this tool call is unknown: the server stopped while it ran."
            )
            await self.store.append_messages(self.id, results)
            self.history.extend(results)
        self._sent = sent_messages(self.history, time.time() - IDEMPOTENCY_WINDOW_S)
        self._tasks = [asyncio.create_task(self._run_turns()), asyncio.create_task(self._watch_idle())]
        self._activated.set()
        return len(self.history)

    async def reload(self) -> int:
        """Re-read record and history (after a rollback moved the conversation's lineage)."""
        if self.busy:
            raise Conflict(f"conversation {self.id} is running a turn: wait for it or cancel it, then try again")
        self.record, self.history = await self.store.open_conversation(self.id)
        self._sent = sent_messages(self.history, time.time() - IDEMPOTENCY_WINDOW_S)
        return len(self.history)

    async def rollback(self, checkpoint_id: str) -> CheckpointRecord:
        """Roll the conversation back to a checkpoint (never during a turn); the history in memory follows."""
        if self.busy:
            raise Conflict(f"conversation {self.id} is running a turn: wait for it or cancel it, then roll back")
        marker = await self.store.rollback(checkpoint_id)
        await self.reload()
        return marker

    async def update(
        self, *, title: str | None = None, model_id: str | None = None, clear_model: bool = False
    ) -> ConversationRecord:
        """Rename the conversation or set (``clear_model``: clear) its model override, for the turns after this one."""
        self.record = await self.store.update_conversation(
            self.id, title=title, model_id=model_id, clear_model=clear_model
        )
        return self.record

    async def add_context_file(self, user_path: str) -> dict[str, Any]:
        """Add a file of ``context/`` to the conversation as a pinned context message (never during a turn)."""
        if self.busy:
            raise Conflict(f"conversation {self.id} is running a turn: load the file when it has ended")
        path = await self.engine.add_context_file(self.id, self.history, user_path)
        return {"file_path": path, "message_count": len(self.history)}

    async def prepare_passivate(self) -> bool:
        """Stop taking turns if idle; False (and nothing changes) while a turn runs or waits."""
        if self.busy:
            return False
        self._stop()
        return True

    async def close(self, reason: str = "cancelled") -> None:
        """Stop now, busy or not: queued turns end with an error, the running one is cancelled (and ends)."""
        self._closing = True  # no turn is taken from now on
        running = self._current[1] if self._current is not None else None
        self._cancel_all(reason)
        if running is not None:  # it ends its turn itself (committing what it said), then the runner stops
            await asyncio.wait([running])
        self._stop()

    def _stop(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()

    @property
    def running(self) -> Turn | None:
        """The turn being run, if it has not ended yet."""
        if self._current is None or self._current[0].done:
            return None
        return self._current[0]

    @property
    def busy(self) -> bool:
        return self.running is not None or bool(self._queue)

    # --- turns ------------------------------------------------------------------

    async def start_turn(self, request: TurnRequest) -> dict[str, Any]:
        """Queue a turn and return its id at once; its frames are read with ``events``.

        A caller that finds the actor by name while the directory is still activating it waits for that.
        """
        if not self._closing and not self._tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ACTIVATION_WAIT_S):
                    await self._activated.wait()
        if self._closing or not self._tasks:
            raise Passivating(f"conversation {self.id} is passivating or not activated: activate it again")
        self.last_used = self._clock()
        repeated = self._repeated(request)
        if repeated is not None:  # the same send again: its turn, not a new one
            return {"turn_id": repeated, "queued": 0, "repeated": True}
        if self.busy and request.multitask_strategy == "reject":
            raise Conflict(
                f"conversation {self.id} is running a turn: wait for it, or send with multitask_strategy "
                "'enqueue' or 'interrupt'"
            )
        if self.busy and request.multitask_strategy == "interrupt":
            self._cancel_all("interrupted")
        turn = Turn(self.id, window_s=self.pace.window)
        if request.client_message_id is not None:
            self._sent[request.client_message_id] = Sent(turn.id, request.text, time.time())
        self._queue.append((turn, request))
        self._remember(turn)
        self._wake.set()
        self._touch()
        return {"turn_id": turn.id, "queued": len(self._queue) - 1 + (self.running is not None)}

    async def events(self, turn_id: str, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        """The turn's frames after ``after_seq``, in batches, live until the turn ends."""
        turn = self._turn(turn_id)
        if turn.restored:  # a turn rebuilt from the store: its end is all there is, whatever was seen
            yield turn.frames
            return
        async for batch in turn.subscribe(after_seq):
            yield batch

    async def wait(self, turn_id: str) -> dict[str, Any]:
        """Wait for the turn to end; its terminal frame's data with ``event`` = complete or error."""
        return await self._turn(turn_id).wait()

    async def cancel(self, turn_id: str | None = None, reason: str = "cancelled") -> bool:
        """Cancel the given turn, or the running one; True if there was one to cancel.

        ``reason`` is what the turn's last frame says stopped it (e.g. ``time_limit``).
        """
        running = self.running
        if turn_id is None:
            if running is None:
                return False
            turn_id = running.id
        self._turn(turn_id)
        if running is not None and running.id == turn_id and self._current is not None:
            running.cancel_reason = reason
            self._current[1].cancel()
            return True
        for turn, request in list(self._queue):
            if turn.id == turn_id:
                self._queue.remove((turn, request))
                turn.emit("error", {"message": f"{reason} before it started", "code": "cancelled"})
                return True
        return False

    def status(self) -> dict[str, Any]:
        return {
            "conversation_id": self.id,
            "busy": self.busy,
            "queued": len(self._queue),
            "current_turn": self.running.id if self.running else None,
            "message_count": len(self.history),
        }

    # --- internals --------------------------------------------------------------

    def _touch(self) -> None:
        """Tell the directory the conversation is in use (for its eviction order), off the turn's path.

        At most once per ``TOUCH_INTERVAL_S``: the order only needs to tell busy conversations from idle ones.
        """
        now = self._clock()
        if self.directory is None or now - self._touched_at < TOUCH_INTERVAL_S:
            return
        self._touched_at = now
        task = asyncio.create_task(self.directory.touch(self.id))
        self._background.add(task)
        task.add_done_callback(self._touched)

    def _touched(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not tell the directory that %s is in use: %s", self.id, task.exception())

    def _turn(self, turn_id: str) -> Turn:
        """A turn of this conversation: in memory, or rebuilt from the messages it committed."""
        turn = self._turns.get(turn_id)
        if turn is not None:
            return turn
        result = stored_result(self.history, turn_id)
        if result is None:
            raise NotFound(f"no turn {turn_id!r} in conversation {self.id}")
        turn = Turn(self.id, turn_id=turn_id)
        turn.restore(result)
        self._remember(turn)
        return turn

    def _repeated(self, request: TurnRequest) -> str | None:
        """The turn a send with the same ``client_message_id`` started (within the window); Conflict if its text
        was another."""
        sent = self._sent.get(request.client_message_id or "")
        if sent is None or sent.at < time.time() - IDEMPOTENCY_WINDOW_S:
            return None
        if sent.text != request.text:
            raise Conflict(
                f"client_message_id {request.client_message_id!r} was already sent with another text in "
                f"conversation {self.id}: give each message its own id"
            )
        return sent.turn_id

    def _remember(self, turn: Turn) -> None:
        self._turns[turn.id] = turn
        while len(self._turns) > KEPT_TURNS:
            oldest_id, oldest = next(iter(self._turns.items()))
            if not oldest.done:
                break
            del self._turns[oldest_id]

    def _cancel_all(self, reason: str) -> None:
        while self._queue:
            turn, _ = self._queue.popleft()
            turn.emit("error", {"message": f"{reason} before it started", "code": "cancelled"})
        if self.running is not None and self._current is not None:
            self._current[0].cancel_reason = reason
            self._current[1].cancel()

    async def _run_turns(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            turn, request = self._queue.popleft()
            model_id = self.record.model_id if self.record is not None else None
            task = asyncio.create_task(self.engine.run(turn, request, self.history, model_id))
            self._current = (turn, task)
            self.pace.turn_started()
            try:
                # Not wait_for: on Python 3.11 it can swallow a cancellation that comes as the turn ends.
                async with asyncio.timeout(self.settings.limits.turn_timeout_s):
                    await asyncio.shield(task)
            except TimeoutError:
                turn.cancel_reason = "timeout"
                task.cancel()
                await asyncio.wait([task])
                log.warning("turn %s of %s hit the %ss limit", turn.id, self.id, self.settings.limits.turn_timeout_s)
            except Exception:  # the engine ends its turn itself; anything else is a bug, reported on the turn
                log.exception("turn %s of %s failed", turn.id, self.id)
            finally:
                if not turn.done:
                    turn.emit("error", {"message": "the turn ended unexpectedly: send it again", "code": "internal"})
                self._current = None
                self.pace.turn_ended()
                self.last_used = self._clock()

    async def _watch_idle(self) -> None:
        timeout = self.settings.activation.idle_timeout_s
        interval = min(max(timeout / 4, 0.05), 30.0)
        while True:
            await asyncio.sleep(interval)
            if self.directory is not None and not self.busy and self._clock() - self.last_used >= timeout:
                await self.directory.request_passivation(self.id)
                return
