// The open conversation lives in the URL (#/c/<id>), so it can be bookmarked and survives a reload.

const PATTERN = /^#\/c\/([A-Za-z0-9_.:%-]+)$/;

export function conversationHref(id) {
  return `#/c/${encodeURIComponent(id)}`;
}

/** The conversation named in the URL, or null. */
export function routedConversation() {
  const match = location.hash.match(PATTERN);
  return match ? decodeURIComponent(match[1]) : null;
}

/** Name a conversation (or none) in the URL; `replace` keeps the browser history from growing. */
export function routeTo(id, { replace = false } = {}) {
  const hash = id ? conversationHref(id) : "#/";
  if (location.hash === hash) return;
  if (replace) history.replaceState(null, "", hash);
  else history.pushState(null, "", hash);
}

/** Call `handler(id)` when the user follows a link or goes back or forward. */
export function onRouteChange(handler) {
  window.addEventListener("hashchange", () => handler(routedConversation()));
  window.addEventListener("popstate", () => handler(routedConversation()));
}
