// The page: wires the sidebar, transcript, composer, model picker and details panel to the API.
import { ApiError, consumeLocalToken, conversations, system } from "./api.js";
import { Composer } from "./composer.js";
import { ask } from "./dialog.js";
import { byId, toast } from "./dom.js";
import { ModelPicker } from "./models.js";
import { DetailsPanel } from "./panel.js";
import { onRouteChange, routedConversation, routeTo } from "./route.js";
import { Sidebar } from "./sidebar.js";
import { ChatSocket } from "./socket.js";
import { Reply, Transcript } from "./transcript.js";

const DEFAULT_TITLE = "New conversation"; // what the server calls a conversation created without a title
const TITLE_CHARS = 60;

class App {
  constructor() {
    this.conversationId = null; // the open conversation
    this.opening = undefined; // the id being opened, so a second request for it is ignored
    this.loading = Promise.resolve(); // settles when the conversation being opened is shown
    this.record = null; // the open conversation as last loaded
    this.shown = undefined; // the conversation whose messages are on screen (null: none)
    this.active = null; // the turn in flight: {conversationId, reply}
    this.capabilities = {};
    this.title = byId("chat-title");
    this.sidebar = new Sidebar(byId("conversation-list"));
    this.transcript = new Transcript(byId("transcript"));
    this.models = new ModelPicker(byId("model-picker"), { onChange: () => this.updateAttach() });
    this.composer = new Composer({ onSend: (message) => this.send(message), onStop: () => this.socket.cancel() });
    this.socket = new ChatSocket({ onFrame: (frame) => this.onFrame(frame) });
    this.panel = new DetailsPanel({
      usage: byId("usage"),
      list: byId("checkpoint-list"),
      form: byId("checkpoint-form"),
      nameInput: byId("checkpoint-name"),
      onRolledBack: (id) => this.reload(id),
      onBranched: (id) => this.navigate(id),
    });
    byId("new-conversation").addEventListener("click", () => this.create());
    byId("rename-conversation").addEventListener("click", () => this.rename());
    byId("delete-conversation").addEventListener("click", () => this.remove());
    byId("conversation-list").addEventListener("click", () => this.closeDrawers());
    drawerToggle("toggle-sidebar", "sidebar");
    drawerToggle("toggle-panel", "panel");
    byId("scrim").addEventListener("click", () => this.closeDrawers());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !byId("dialog").open) this.closeDrawers();
    });
    onRouteChange((id) => this.open(id));
  }

  async start() {
    await consumeLocalToken();
    await Promise.all([this.sidebar.refresh(), this.models.load(), this.loadCapabilities()]);
    this.updateAttach();
    await this.open(routedConversation());
    document.documentElement.dataset.ready = "true"; // for scripts and tests: the first view is drawn
  }

  async loadCapabilities() {
    this.capabilities = (await system.capabilities()).capabilities;
  }

  updateAttach() {
    const model = this.models.current;
    this.composer.setAttachAllowed(Boolean(model && model.vision_enabled && this.capabilities.file_upload));
  }

  // --- conversations ---------------------------------------------------------

  /** Open a conversation (or none): its messages, title, checkpoints and usage; resolves once shown. */
  open(id) {
    if (id === this.opening) return this.loading;
    if (this.opening === undefined && id === this.shown) return Promise.resolve();
    this.opening = id;
    this.loading = this.load(id).finally(() => {
      if (this.opening === id) this.opening = undefined;
    });
    return this.loading;
  }

  async load(id) {
    this.conversationId = id;
    this.record = null;
    this.sidebar.setActive(id);
    this.closeDrawers();
    try {
      if (!id) {
        this.showTitle(null);
        this.transcript.showEmpty("Penguin", "Start a conversation: type a message below, or pick one on the left.");
        this.shown = null;
        await this.panel.show(null);
        return;
      }
      const conversation = await conversations.get(id);
      if (this.opening !== id) return; // another conversation was opened meanwhile
      this.record = conversation;
      this.showTitle(conversation);
      await this.transcript.showHistory(conversation.messages);
      this.shown = id;
      if (this.active && this.active.conversationId === id) this.transcript.attach(this.active.reply);
      this.updateComposer();
      await this.panel.show(id);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        toast("That conversation no longer exists.", { error: true });
        this.opening = undefined;
        routeTo(null, { replace: true });
        await this.open(null);
        return;
      }
      this.report(error);
    }
  }

  /** Open a conversation and name it in the URL. */
  async navigate(id) {
    routeTo(id);
    await Promise.all([this.open(id), this.sidebar.refresh().catch((error) => this.report(error))]);
  }

  /** Show the open conversation again, e.g. after a rollback. */
  async reload(id) {
    if (id === this.conversationId) {
      this.shown = undefined;
      await this.open(id);
    }
    await this.sidebar.refresh();
  }

  async create(title) {
    try {
      const created = await conversations.create(title);
      await this.navigate(created.id);
      this.composer.focus();
      return created.id;
    } catch (error) {
      this.report(error);
      return null;
    }
  }

  async rename() {
    const title = await ask({
      title: "Rename conversation",
      input: { value: this.record ? this.record.title : "", label: "Title", maxLength: 200 },
      ok: "Rename",
    });
    if (!title) return;
    try {
      const renamed = await conversations.rename(this.conversationId, title);
      if (this.record && this.record.id === renamed.id) this.record.title = renamed.title;
      this.showTitle(renamed);
      await this.sidebar.refresh();
    } catch (error) {
      this.report(error);
    }
  }

  async remove() {
    const sure = await ask({
      title: "Delete conversation?",
      text: `"${this.record ? this.record.title : this.conversationId}" and its checkpoints are deleted for good.`,
      ok: "Delete",
      danger: true,
    });
    if (!sure) return;
    try {
      await conversations.remove(this.conversationId);
      await this.navigate(null);
    } catch (error) {
      this.report(error);
    }
  }

  showTitle(conversation) {
    this.title.textContent = conversation ? conversation.title : "Penguin";
    document.title = conversation ? `${conversation.title} · Penguin` : "Penguin";
    byId("rename-conversation").hidden = !conversation;
    byId("delete-conversation").hidden = !conversation;
  }

  // --- chat ------------------------------------------------------------------

  /** Send a message on the WebSocket; false if it could not be sent (the composer keeps the text). */
  async send({ text, imagePath, imageUrl }) {
    if (this.active) return false;
    await this.loading; // let a conversation being opened show first, or its history would replace this message
    if (this.active) return false;
    let id = this.conversationId;
    if (!id) {
      id = await this.create(titleFrom(text));
      if (!id) return false;
    } else {
      this.nameAfterFirstMessage(text);
    }
    const reply = new Reply();
    this.active = { conversationId: id, reply };
    this.transcript.addUser(text, imageUrl);
    this.transcript.attach(reply);
    this.updateComposer();
    const request = { text, conversation_id: id };
    if (this.models.current) request.model_id = this.models.current.id;
    if (imagePath) request.image_path = imagePath;
    this.socket.chat(request);
    return true;
  }

  /** A conversation made with "New" is titled by its first message, as the server does for chat. */
  nameAfterFirstMessage(text) {
    const record = this.record;
    if (!record || record.title !== DEFAULT_TITLE || record.message_count !== 0) return;
    record.title = titleFrom(text);
    record.message_count = 1;
    conversations
      .rename(record.id, record.title)
      .then((renamed) => {
        if (this.conversationId === renamed.id) this.showTitle(renamed);
      })
      .catch((error) => this.report(error));
  }

  onFrame(frame) {
    const active = this.active;
    if (!active) {
      if (frame.event === "error") toast(frame.data.message, { error: true });
      return;
    }
    const { reply } = active;
    if (frame.event === "start") active.turnId = frame.turn_id;
    if (frame.turn_id && active.turnId && frame.turn_id !== active.turnId) return; // another turn's late frame
    if (frame.event === "error" && !frame.turn_id && active.turnId && !frame.local) {
      toast(frame.data.message, { error: true }); // about a message of ours (a cancel), not the running turn
      return;
    }
    if (frame.event === "token") reply.addToken(frame.data.token);
    else if (frame.event === "action") reply.addAction(frame.data);
    else if (frame.event === "complete") this.finish(reply.finish(frame.data));
    else if (frame.event === "error") {
      reply.fail(errorText(frame.data));
      this.finish(Promise.resolve());
    }
  }

  /** The turn ended: the composer is free again; counts, order and checkpoints have changed. */
  async finish(rendered) {
    const id = this.active.conversationId;
    this.active = null;
    this.updateComposer();
    try {
      await rendered;
      await Promise.all([this.sidebar.refresh(), id === this.conversationId ? this.panel.show(id) : null]);
    } catch (error) {
      this.report(error);
    }
  }

  updateComposer() {
    const active = this.active;
    this.composer.setBusy(Boolean(active), { canStop: Boolean(active) && active.conversationId === this.conversationId });
  }

  // --- page --------------------------------------------------------------------

  closeDrawers() {
    for (const [button, drawer] of [
      ["toggle-sidebar", "sidebar"],
      ["toggle-panel", "panel"],
    ]) {
      byId(drawer).classList.remove("open");
      byId(button).setAttribute("aria-expanded", "false");
    }
    byId("scrim").hidden = true;
  }

  report(error) {
    console.warn(error);
    const unauthorized = error instanceof ApiError && error.status === 401;
    toast(unauthorized ? "API key required: reload the page to enter it." : error.message, { error: true });
  }
}

function drawerToggle(buttonId, drawerId) {
  const button = byId(buttonId);
  button.addEventListener("click", () => {
    const open = !byId(drawerId).classList.contains("open");
    byId(drawerId).classList.toggle("open", open);
    button.setAttribute("aria-expanded", String(open));
    byId("scrim").hidden = !open;
  });
}

function titleFrom(text) {
  return text.split(/\s+/).join(" ").trim().slice(0, TITLE_CHARS) || DEFAULT_TITLE;
}

function errorText(data) {
  const message = data.message || "something went wrong";
  return data.code ? `Error (${data.code}): ${message}` : `Error: ${message}`;
}

const app = new App();
window.addEventListener("unhandledrejection", (event) => app.report(event.reason));
app.start().catch((error) => app.report(error));
