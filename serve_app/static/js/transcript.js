// The message list: history (rendered as a batch by the server), and the reply being streamed.
// While a reply streams its text is shown as plain text; on `complete` the server's rendered
// Markdown replaces it.
import { render } from "./api.js";
import { el, setRenderedHtml } from "./dom.js";

const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const FINAL_STATUSES = new Set(["completed", "error"]);

export class Transcript {
  constructor(root) {
    this.root = root;
  }

  showEmpty(title, text) {
    this.root.replaceChildren(el("div", { class: "empty" }, el("h2", {}, title), el("p", {}, text)));
  }

  /** Show a conversation's stored messages; assistant texts are rendered in one call. */
  async showHistory(messages) {
    const nodes = [];
    const pendingHtml = [];
    const toolBlocks = new Map();
    for (const message of messages) {
      if (message.role === "user") {
        nodes.push(message.pinned ? contextBlock(message) : userMessage(textOf(message.content), imagesOf(message.content)));
      } else if (message.role === "assistant") {
        const article = el("article", { class: "msg assistant" });
        const text = textOf(message.content);
        if (text.trim()) {
          const body = el("div", { class: "body markdown" }, text);
          pendingHtml.push([body, text]);
          article.append(body);
        }
        for (const call of message.tool_calls || []) {
          const block = toolBlock({ action: call.name, arguments: call.arguments, status: "no result" });
          toolBlocks.set(call.id, block);
          article.append(block.node);
        }
        if (article.childElementCount) nodes.push(article);
      } else if (message.role === "tool") {
        const block = toolBlocks.get(message.tool_call_id);
        const result = { result: textOf(message.content), status: message.is_error ? "error" : "completed" };
        if (block) block.update(result);
        else nodes.push(el("article", { class: "msg assistant" }, toolBlock({ action: "tool", ...result }).node));
      }
    }
    this.root.replaceChildren(...nodes);
    if (!nodes.length) this.showEmpty("No messages yet", "Say hello: your message goes to the model picked above.");
    if (pendingHtml.length) {
      const html = await render(pendingHtml.map(([, text]) => text));
      pendingHtml.forEach(([body], index) => setRenderedHtml(body, html[index]));
    }
    this.scrollToEnd();
  }

  addUser(text, imageUrl) {
    this.root.querySelector(".empty")?.remove();
    this.root.append(userMessage(text, imageUrl ? [imageUrl] : []));
    this.scrollToEnd(true);
  }

  /** Put a reply (being streamed, possibly since before a switch of conversations) at the end. */
  attach(reply) {
    this.root.querySelector(".empty")?.remove();
    this.root.append(reply.node);
    reply.onGrow = () => this.scrollToEnd();
    this.scrollToEnd(true);
  }

  /** Follow new text, unless the reader has scrolled up to read something. */
  scrollToEnd(force = false) {
    const root = this.root;
    const nearEnd = root.scrollHeight - root.scrollTop - root.clientHeight < 120;
    if (force || nearEnd) root.scrollTop = root.scrollHeight;
  }
}

/** One assistant reply as it streams: text segments and tool blocks, in the order they came. */
export class Reply {
  constructor() {
    this.node = el("article", { class: "msg assistant streaming", "aria-busy": "true" });
    this.segments = []; // {kind: "text", text, node} | {kind: "action", block}
    this.onGrow = () => {};
    this.node.append(el("span", { class: "typing", "aria-label": "waiting for the reply" }, el("i"), el("i"), el("i")));
  }

  addToken(token) {
    this.node.querySelector(".typing")?.remove();
    let last = this.segments[this.segments.length - 1];
    if (!last || last.kind !== "text") {
      last = { kind: "text", text: "", node: el("div", { class: "body plain" }) };
      this.segments.push(last);
      this.node.append(last.node);
    }
    last.text += token;
    last.node.textContent = last.text;
    this.onGrow();
  }

  addAction(data) {
    this.node.querySelector(".typing")?.remove();
    const key = data.id || data.tool_call_id;
    // The same call's later event (started, then completed or error) updates its block.
    const open = this.segments.findLast(
      (s) =>
        s.kind === "action" &&
        (key ? s.key === key : s.action === data.action && !FINAL_STATUSES.has(s.block.status)),
    );
    if (open) {
      open.block.update(data);
    } else {
      const block = toolBlock(data);
      this.segments.push({ kind: "action", block, key, action: data.action });
      this.node.append(block.node);
    }
    this.onGrow();
  }

  /** The turn completed (or was stopped): swap in rendered Markdown, add results not yet shown. */
  async finish(data) {
    this.node.querySelector(".typing")?.remove();
    if (!this.segments.some((s) => s.kind === "action")) {
      for (const result of data.action_results || []) this.addAction(result);
    }
    if (!this.segments.some((s) => s.kind === "text") && data.response) this.addToken(data.response);
    this.done();
    const segments = this.segments.filter((s) => s.kind === "text" && s.text.trim());
    if (data.cancelled) this.node.append(el("p", { class: "note" }, "Stopped."));
    else if (!this.segments.length) this.node.append(el("p", { class: "note" }, "(no text)"));
    if (segments.length) {
      const html = await render(segments.map((s) => s.text));
      segments.forEach((segment, index) => {
        segment.node.className = "body markdown";
        setRenderedHtml(segment.node, html[index]);
      });
    }
    this.node.dataset.state = "done";
    this.onGrow();
  }

  fail(message) {
    this.node.querySelector(".typing")?.remove();
    this.done();
    this.node.append(el("div", { class: "error-text", role: "alert" }, message));
    this.node.dataset.state = "failed";
    this.onGrow();
  }

  done() {
    this.node.classList.remove("streaming");
    this.node.removeAttribute("aria-busy");
  }
}

function userMessage(text, imageUrls) {
  return el(
    "article",
    { class: "msg user" },
    imageUrls.map((src) => el("img", { class: "attached-image", src, alt: "attached image" })),
    el("div", { class: "body plain" }, text),
  );
}

function contextBlock(message) {
  return el(
    "details",
    { class: "msg context" },
    el("summary", {}, "Context files"),
    el("pre", {}, textOf(message.content)),
  );
}

/** A collapsible tool call: name and status on top, arguments and result inside. */
function toolBlock(data) {
  const status = el("span", { class: "tool-status" });
  const argumentsPre = el("pre", { class: "tool-arguments" });
  const resultPre = el("pre", { class: "tool-result" });
  const node = el(
    "details",
    { class: "tool" },
    el("summary", {}, el("span", { class: "tool-name" }, data.action || "tool"), " ", status),
    el("div", { class: "tool-label" }, "Arguments"),
    argumentsPre,
    el("div", { class: "tool-label" }, "Result"),
    resultPre,
  );
  const block = {
    node,
    status: null,
    update(change) {
      if (change.status) {
        block.status = change.status;
        status.textContent = change.status;
        node.classList.toggle("failed", change.status === "error");
        node.classList.toggle("done", change.status === "completed");
      }
      if (change.arguments !== undefined) argumentsPre.textContent = JSON.stringify(change.arguments, null, 2);
      if (change.result !== undefined && change.result !== null) resultPre.textContent = String(change.result);
    },
  };
  block.update({ status: "running", ...data });
  return block;
}

function textOf(content) {
  if (typeof content === "string") return content;
  return (content || [])
    .filter((part) => part.type === "text")
    .map((part) => part.text)
    .join("");
}

function imagesOf(content) {
  if (typeof content === "string") return [];
  return (content || [])
    .filter((part) => part.type === "image" && IMAGE_TYPES.has(part.media_type))
    .map((part) => `data:${part.media_type};base64,${part.data}`);
}
