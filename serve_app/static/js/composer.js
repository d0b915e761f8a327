// The message box: Enter sends, Shift+Enter makes a new line; Stop while a reply streams;
// an image can be attached when the model can see and the server takes uploads.
import { upload } from "./api.js";
import { byId, toast } from "./dom.js";

const MAX_ROWS_PX = 200;

export class Composer {
  /** onSend({text, imagePath, imageUrl}) returns a promise; onStop() asks the server to stop. */
  constructor({ onSend, onStop }) {
    this.form = byId("composer");
    this.input = byId("message-input");
    this.sendButton = byId("send");
    this.stopButton = byId("stop");
    this.attachButton = byId("attach");
    this.fileInput = byId("attach-input");
    this.onSend = onSend;
    this.busy = false;
    this.attachment = null; // {path, filename, url}

    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => this.fit());
    this.stopButton.addEventListener("click", () => onStop());
    this.attachButton.addEventListener("click", () => this.fileInput.click());
    this.fileInput.addEventListener("change", () => this.attach(this.fileInput.files[0]));
    byId("attachment-remove").addEventListener("click", () => this.clearAttachment());
  }

  async submit() {
    const text = this.input.value;
    if (this.busy || !text.trim()) return;
    const attachment = this.attachment;
    this.input.value = "";
    this.fit();
    this.clearAttachment();
    const sent = await this.onSend({ text, imagePath: attachment?.path, imageUrl: attachment?.url });
    if (sent === false) {
      this.input.value = text; // not sent: give the words back
      this.fit();
    }
  }

  /** While busy, Send gives way to Stop. */
  setBusy(busy, { canStop = busy } = {}) {
    this.busy = busy;
    this.sendButton.hidden = busy && canStop;
    this.sendButton.disabled = busy;
    this.stopButton.hidden = !(busy && canStop);
    if (!busy) this.input.focus();
  }

  setAttachAllowed(allowed) {
    this.attachButton.hidden = !allowed;
    if (!allowed) this.clearAttachment();
  }

  async attach(file) {
    if (!file) return;
    this.attachButton.disabled = true;
    try {
      const saved = await upload(file);
      this.clearAttachment();
      this.attachment = { path: saved.path, filename: saved.filename, url: URL.createObjectURL(file) };
      byId("attachment-preview").src = this.attachment.url;
      byId("attachment-name").textContent = saved.filename;
      byId("attachment").hidden = false;
    } catch (error) {
      toast(`Upload failed: ${error.message}`, { error: true });
    } finally {
      this.attachButton.disabled = false;
      this.fileInput.value = "";
    }
  }

  clearAttachment() {
    this.attachment = null;
    byId("attachment").hidden = true;
    byId("attachment-preview").removeAttribute("src");
  }

  fit() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_ROWS_PX)}px`;
  }

  focus() {
    this.input.focus();
  }
}
