// The details panel of the open conversation: token usage, and checkpoints (create, roll back, branch).
import { checkpoints, models } from "./api.js";
import { el, timeAgo, toast } from "./dom.js";
import { ask } from "./dialog.js";

const number = new Intl.NumberFormat();

export class DetailsPanel {
  /** onRolledBack(conversationId) and onBranched(branchId) let the page reload or open a conversation. */
  constructor({ usage, list, form, nameInput, onRolledBack, onBranched }) {
    Object.assign(this, { usage, list, form, nameInput, onRolledBack, onBranched });
    this.conversationId = null;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
  }

  async show(conversationId) {
    this.conversationId = conversationId;
    this.form.querySelector("button").disabled = !conversationId;
    if (!conversationId) {
      this.usage.textContent = "No conversation open.";
      this.list.replaceChildren();
      return;
    }
    await Promise.all([this.refreshUsage(), this.refreshCheckpoints()]);
  }

  async refreshUsage() {
    const id = this.conversationId;
    if (!id) return;
    const usage = await models.usage(id);
    if (id !== this.conversationId) return;
    const cost = usage.total_cost_usd === null ? "" : ` · $${usage.total_cost_usd.toFixed(4)}`;
    this.usage.replaceChildren(
      el("span", { class: "usage-row" }, el("b", {}, "This conversation: "), counts(usage.session)),
      el("span", { class: "usage-row" }, el("b", {}, "All conversations: "), counts(usage.total) + cost),
    );
  }

  async refreshCheckpoints() {
    const id = this.conversationId;
    if (!id) return;
    const found = (await checkpoints.list(id)).checkpoints;
    if (id !== this.conversationId) return;
    if (!found.length) {
      this.list.replaceChildren(el("li", { class: "hint" }, "No checkpoints yet."));
      return;
    }
    found.sort((a, b) => b.created_at.localeCompare(a.created_at));
    // Automatic ones (one every few messages) fold away under the ones people made or rollbacks left.
    const named = found.filter((checkpoint) => checkpoint.type !== "auto");
    const automatic = found.filter((checkpoint) => checkpoint.type === "auto");
    const items = named.map((checkpoint) => this.item(checkpoint));
    if (automatic.length) {
      items.push(
        el(
          "li",
          { class: "automatic" },
          el(
            "details",
            { open: !named.length },
            el("summary", {}, `Automatic (${automatic.length})`),
            el("ul", { class: "checkpoint-list" }, automatic.map((checkpoint) => this.item(checkpoint))),
          ),
        ),
      );
    }
    this.list.replaceChildren(...items);
  }

  item(checkpoint) {
    const label = checkpoint.name || `${checkpoint.type} checkpoint`;
    const messages = `${checkpoint.message_count} message${checkpoint.message_count === 1 ? "" : "s"}`;
    return el(
      "li",
      { class: `checkpoint ${checkpoint.type}`, dataset: { id: checkpoint.id } },
      el("span", { class: "checkpoint-name" }, label),
      el("span", { class: "checkpoint-meta" }, `${checkpoint.type} · ${messages} · ${timeAgo(checkpoint.created_at)}`),
      el(
        "span",
        { class: "checkpoint-actions" },
        el("button", { type: "button", class: "button small", onclick: () => this.rollback(checkpoint) }, "Roll back"),
        el("button", { type: "button", class: "button small", onclick: () => this.branch(checkpoint) }, "Branch"),
      ),
    );
  }

  async create() {
    const id = this.conversationId;
    if (!id) return;
    try {
      const created = await checkpoints.create(id, this.nameInput.value.trim());
      this.nameInput.value = "";
      toast(`Checkpoint created at ${created.message_count} messages`);
      await this.refreshCheckpoints();
    } catch (error) {
      toast(`Could not create a checkpoint: ${error.message}`, { error: true });
    }
  }

  async rollback(checkpoint) {
    const sure = await ask({
      title: "Roll back?",
      text: `The conversation goes back to ${checkpoint.message_count} messages. A checkpoint marks where it is now, so you can undo this.`,
      ok: "Roll back",
      danger: true,
    });
    if (!sure) return;
    try {
      const result = await checkpoints.rollback(checkpoint.id);
      toast(`Rolled back to ${result.message_count} messages`);
      await this.onRolledBack(result.conversation_id);
    } catch (error) {
      toast(`Could not roll back: ${error.message}`, { error: true });
    }
  }

  async branch(checkpoint) {
    try {
      const created = await checkpoints.branch(checkpoint.id);
      toast(`Opened the branch "${created.name}"`);
      await this.onBranched(created.branch_id);
    } catch (error) {
      toast(`Could not branch: ${error.message}`, { error: true });
    }
  }
}

function counts(usage) {
  return `${number.format(usage.input)} in · ${number.format(usage.output)} out`;
}
