// The HTTP API under /api/v1, and the API key: asked for once when a call answers 401,
// kept in localStorage, sent as "Authorization: Bearer" (and as ?token= on the WebSocket).
// A page opened as the original Penguin CLI prints it (/authorize#local_token=<key>) logs in
// instead: the key becomes an HttpOnly session cookie and leaves the URL.
import { ask } from "./dialog.js";

const BASE = "/api/v1";
const KEY_STORAGE = "penguin.apiKey";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE);
}

/** Log in with a #local_token=<key> of the URL, if any, and take it out of the URL (and of the history). */
export async function consumeLocalToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get("local_token");
  if (!token) return;
  const path = location.pathname === "/authorize" ? "/" : location.pathname;
  history.replaceState(null, "", path + location.search);
  const response = await fetch(`${BASE}/auth/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ token }),
  });
  if (!response.ok) await askForKey(true); // a wrong or old link: the key is asked for, as on any 401
}

let asking = null;
let declined = false;

/** Ask for the key (one dialog, however many calls are waiting); resolves true if one was entered. */
export function askForKey(rejected = false) {
  if (declined) return Promise.resolve(false);
  if (!asking) {
    const text = rejected
      ? "That key was not accepted. Enter the server's API key (PENGUIN_API_KEY)."
      : "This server needs an API key (PENGUIN_API_KEY). It is kept in this browser only.";
    asking = ask({ title: "API key", text, input: { type: "password", label: "API key" }, ok: "Use key" })
      .then((key) => {
        if (!key) {
          declined = true;
          return false;
        }
        localStorage.setItem(KEY_STORAGE, key);
        return true;
      })
      .finally(() => {
        asking = null;
      });
  }
  return asking;
}

/** Call the API; JSON in (or FormData), JSON out; an error answer throws ApiError with the server's message. */
export async function request(method, path, body = undefined) {
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    const key = apiKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const response = await fetch(BASE + path, { method, headers, body: payload });
    if (response.status === 401 && (await askForKey(attempt > 0 || Boolean(key)))) continue;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = data && data.error ? data.error : {};
      throw new ApiError(response.status, error.code || "error", error.message || `${method} ${path}: ${response.status}`);
    }
    return data;
  }
}

const q = encodeURIComponent;

export const conversations = {
  list: () => request("GET", "/conversations?limit=200"),
  get: (id) => request("GET", `/conversations/${q(id)}`),
  create: (title) => request("POST", "/conversations/create", title ? { title } : {}),
  rename: (id, title) => request("PATCH", `/conversations/${q(id)}`, { title }),
  remove: (id) => request("DELETE", `/conversations/${q(id)}`),
};

export const models = {
  list: () => request("GET", "/models"),
  load: (modelId) => request("POST", "/models/load", { model_id: modelId }),
  usage: (conversationId) => request("GET", `/token-usage?conversation_id=${q(conversationId)}`),
};

export const checkpoints = {
  list: (conversationId) => request("GET", `/checkpoints?session_id=${q(conversationId)}&limit=100`),
  create: (conversationId, name) =>
    request("POST", "/checkpoints/create", { conversation_id: conversationId, ...(name ? { name } : {}) }),
  rollback: (id) => request("POST", `/checkpoints/${q(id)}/rollback`),
  branch: (id) => request("POST", `/checkpoints/${q(id)}/branch`, {}),
};

export const system = {
  capabilities: () => request("GET", "/capabilities"),
};

export function upload(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return request("POST", "/upload", form);
}

const RENDER_BATCH = 200; // the server's limit of texts per call
const RENDER_CHARS = 1_000_000; // well under the request body limit

/** Markdown texts to safe HTML, in as few calls to POST /render as the limits allow. */
export async function render(texts) {
  const html = [];
  let batch = [];
  let size = 0;
  const flush = async () => {
    if (batch.length) html.push(...(await request("POST", "/render", { texts: batch })).html);
    batch = [];
    size = 0;
  };
  for (const text of texts) {
    if (batch.length >= RENDER_BATCH || (batch.length && size + text.length > RENDER_CHARS)) await flush();
    batch.push(text);
    size += text.length;
  }
  await flush();
  return html;
}

/** The chat WebSocket's URL, with the key as ?token= (browsers cannot set headers on a WebSocket). */
export function streamUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const key = apiKey();
  return `${scheme}//${location.host}${BASE}/chat/stream${key ? `?token=${q(key)}` : ""}`;
}
