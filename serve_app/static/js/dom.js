// Small DOM helpers. Text always goes in as text (textContent); the only HTML the page
// inserts is what the server's renderer produced (see transcript.js, setRenderedHtml).

/** Create an element: el("button", {class: "x", onclick: fn}, "label", child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      node.className = value;
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no element #${id}: index.html and the scripts disagree`);
  return node;
}

/** Insert HTML from POST /api/v1/render, and nothing else: it is escaped and link-checked on the server. */
export function setRenderedHtml(node, html) {
  node.innerHTML = html;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** "5 minutes ago", "yesterday", or a date for older times. */
export function timeAgo(iso) {
  const then = new Date(iso);
  const seconds = (then.getTime() - Date.now()) / 1000;
  const steps = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [7, "day"],
  ];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return then.toLocaleDateString();
}

let toastTimer = 0;

/** A short message at the bottom of the screen; errors stay longer. */
export function toast(message, { error = false } = {}) {
  const node = byId("toast");
  node.textContent = message;
  node.classList.toggle("error", error);
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, error ? 6000 : 2500);
}
