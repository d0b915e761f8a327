// The conversation list: newest activity first, each a link to #/c/<id>.
import { conversations } from "./api.js";
import { el, timeAgo } from "./dom.js";
import { conversationHref } from "./route.js";

export class Sidebar {
  constructor(list) {
    this.list = list;
    this.items = [];
    this.activeId = null;
  }

  /** Fetch the list again and redraw it. */
  async refresh() {
    const page = await conversations.list();
    this.items = [...page.conversations].sort((a, b) => b.last_active.localeCompare(a.last_active));
    this.draw();
  }

  setActive(id) {
    this.activeId = id;
    for (const link of this.list.querySelectorAll("a.conversation")) {
      const active = link.dataset.id === id;
      link.classList.toggle("active", active);
      if (active) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  draw() {
    if (!this.items.length) {
      this.list.replaceChildren(el("li", { class: "hint" }, "No conversations yet."));
      return;
    }
    this.list.replaceChildren(
      ...this.items.map((item) => {
        const count = `${item.message_count} message${item.message_count === 1 ? "" : "s"}`;
        return el(
          "li",
          {},
          el(
            "a",
            { class: "conversation", href: conversationHref(item.id), dataset: { id: item.id }, title: item.title },
            el("span", { class: "conversation-title" }, item.title),
            el("span", { class: "conversation-meta" }, `${count} · ${timeAgo(item.last_active)}`),
          ),
        );
      }),
    );
    this.setActive(this.activeId);
  }
}
