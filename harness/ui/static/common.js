// Shared by the three pages. Text from manifests, checks and engines goes in with textContent, never innerHTML;
// the only HTML inserted is the server's Markdown rendering of a brief or hint (raw HTML escaped there).
"use strict";
const bf = {
  async get(path) {
    const response = await fetch(path, { cache: "no-store" });
    return response.json();
  },
  async post(path) {
    // the token travels in the SameSite=Strict cookie the printed URL set; the Origin header is the browser's
    const response = await fetch(path, { method: "POST" });
    if (response.status === 403) throw new Error(await response.text());
    return response.json();
  },
  el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  },
  clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  },
};
