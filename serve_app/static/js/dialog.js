// One modal <dialog> for confirmations and short answers; never the browser's blocking prompt().
import { byId } from "./dom.js";

let pending = Promise.resolve();

/**
 * Ask the user something. Resolves to the typed text (with `input`), true (without), or null if cancelled.
 * Calls queue up: a second question waits until the first is answered.
 */
export function ask({ title, text = "", input = null, ok = "OK", danger = false }) {
  const answer = pending.then(() => show({ title, text, input, ok, danger }));
  pending = answer.catch(() => {});
  return answer;
}

function show({ title, text, input, ok, danger }) {
  const dialog = byId("dialog");
  const field = byId("dialog-input");
  const okButton = byId("dialog-ok");
  byId("dialog-title").textContent = title;
  byId("dialog-text").textContent = text;
  okButton.textContent = ok;
  okButton.classList.toggle("danger", danger);
  okButton.classList.toggle("primary", !danger);
  field.hidden = !input;
  if (input) {
    field.type = input.type || "text";
    field.value = input.value || "";
    field.placeholder = input.placeholder || "";
    field.setAttribute("aria-label", input.label || title);
    field.maxLength = input.maxLength || 500;
  }
  return new Promise((resolve) => {
    const form = byId("dialog-form");
    const cancelButton = byId("dialog-cancel");
    const finish = (value) => {
      form.removeEventListener("submit", onSubmit);
      cancelButton.removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      if (input && !field.value.trim()) {
        field.focus();
        return;
      }
      finish(input ? field.value.trim() : true);
    };
    const onCancel = (event) => {
      event.preventDefault();
      finish(null);
    };
    form.addEventListener("submit", onSubmit);
    cancelButton.addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    (input ? field : okButton).focus();
    if (input) field.select();
  });
}
