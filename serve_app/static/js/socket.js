// ChatSocket: the chat WebSocket (/api/v1/chat/stream) as a small state machine.
//
//   closed ──send()──▶ connecting ──open──▶ open ──drop──▶ (wait, backoff) ──▶ connecting …
//
// Frames are {event, data, conversation_id, turn_id, seq}. While a turn is in flight the socket
// remembers its ids and the last seq seen; after a dropped connection it reconnects and sends
// {"type": "resume", conversation_id, turn_id, after_seq} so nothing is missed or repeated.
import { askForKey, request, streamUrl } from "./api.js";

export const SocketState = Object.freeze({ CLOSED: "closed", CONNECTING: "connecting", OPEN: "open" });

const POLICY_VIOLATION = 1008; // the server's answer to a missing or wrong API key
const BACKOFF_MS = [200, 500, 1000, 2000, 4000];

export class ChatSocket {
  /** onFrame(frame) gets every frame; onState(state) each change of state. */
  constructor({ onFrame, onState = () => {} }) {
    this.onFrame = onFrame;
    this.onState = onState;
    this.state = SocketState.CLOSED;
    this.ws = null;
    this.outbox = [];
    this.turn = null; // {conversationId, turnId, lastSeq} of the turn in flight, or {pending: true}
    this.failures = 0;
    this.timer = 0;
  }

  /** Send a chat request; its frames arrive through onFrame. */
  chat(request) {
    this.turn = { pending: true, conversationId: request.conversation_id, turnId: null, lastSeq: -1 };
    this.send(request);
  }

  /** Ask the server to stop the turn in flight. */
  cancel() {
    const turn = this.turn || {};
    if (turn.pending) {
      turn.cancelRequested = true; // sent once the turn's id is known, so it cannot miss the turn
      return;
    }
    const message = { type: "cancel" };
    if (turn.conversationId) message.conversation_id = turn.conversationId;
    if (turn.turnId) message.turn_id = turn.turnId;
    this.send(message);
  }

  send(message) {
    this.outbox.push(JSON.stringify(message));
    this.flush();
  }

  flush() {
    if (this.state === SocketState.OPEN) {
      while (this.outbox.length) this.ws.send(this.outbox.shift());
      if (this.turn && this.turn.pending) this.turn.sent = true;
    } else if (this.state === SocketState.CLOSED && !this.timer) {
      this.connect();
    }
  }

  connect() {
    this.timer = 0;
    this.setState(SocketState.CONNECTING);
    const ws = new WebSocket(streamUrl());
    this.ws = ws;
    ws.addEventListener("open", () => this.opened(ws));
    ws.addEventListener("message", (event) => this.received(event.data));
    ws.addEventListener("close", (event) => this.closed(ws, event.code));
  }

  opened(ws) {
    ws.wasOpen = true;
    this.failures = 0;
    this.setState(SocketState.OPEN);
    const turn = this.turn;
    if (turn && turn.turnId) {
      // Reconnected mid-turn: ask for what was missed, then the rest live.
      const resume = { type: "resume", conversation_id: turn.conversationId, turn_id: turn.turnId };
      this.ws.send(JSON.stringify({ ...resume, after_seq: turn.lastSeq }));
    }
    this.flush();
  }

  received(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // the server sends JSON only; ignore anything else
    }
    const turn = this.turn;
    if (turn && frame.turn_id) {
      if (turn.pending && frame.event === "start") {
        Object.assign(turn, { pending: false, conversationId: frame.conversation_id, turnId: frame.turn_id });
        if (turn.cancelRequested) queueMicrotask(() => this.cancel());
      }
      if (frame.turn_id === turn.turnId) {
        if (frame.seq <= turn.lastSeq) return; // already seen before a reconnect
        turn.lastSeq = frame.seq;
        if (frame.event === "complete" || frame.event === "error") this.turn = null;
      }
    } else if (turn && turn.pending && frame.event === "error") {
      this.turn = null; // the request was refused before a turn began
    }
    this.onFrame(frame);
  }

  async closed(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.setState(SocketState.CLOSED);
    if (code === POLICY_VIOLATION) {
      if (!(await askForKey(true))) {
        this.abandon("auth", "API key required: reload the page to enter it");
        return;
      }
    } else {
      this.failures += 1;
      // A refused handshake (a wrong or missing key) looks like any failed connection to a page;
      // an HTTP call tells them apart, and on 401 asks for the key.
      if (!ws.wasOpen) await request("GET", "/capabilities").catch(() => {});
    }
    if (this.ws || this.timer) return; // a send() reconnected while we waited
    const turn = this.turn;
    if (turn && turn.pending && turn.sent) {
      // Dropped after the request went out but before the turn's first frame: its id is unknown.
      this.abandon("connection_lost", "the connection dropped as the reply began; open the conversation again to see it");
      return;
    }
    if (!turn && !this.outbox.length) return; // idle: reconnect on the next send
    if (this.failures > BACKOFF_MS.length) {
      this.abandon("connection_lost", "cannot reach the server: check it is running, then reload the page");
      return;
    }
    const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length) - 1] || 0;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Give up on the turn in flight and tell the page with an error frame of our own. */
  abandon(code, message) {
    const turn = this.turn;
    this.turn = null;
    this.outbox = [];
    this.failures = 0;
    this.onFrame({
      event: "error",
      data: { code, message },
      conversation_id: turn ? turn.conversationId : null,
      turn_id: turn ? turn.turnId : null,
      local: true,
    });
  }

  setState(state) {
    this.state = state;
    this.onState(state);
  }
}
