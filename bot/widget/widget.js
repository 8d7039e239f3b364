/*
 * leadbot chat widget. Embed on any page with one tag:
 *
 *   <script src="https://LEADBOT-HOST/widget.js" async></script>
 *
 * Optional attributes on that tag:
 *   data-server        the leadbot WebSocket URL (or its base URL); default: derived from src
 *   data-title         the panel's title (default "Chat with us")
 *   data-subtitle      the line under the title
 *   data-accent        a CSS colour for the launcher, header and visitor bubbles
 *   data-reconnect-ms  the first reconnect delay (default 1000; doubles up to 30 times that, max 30 s)
 *
 * It speaks the protocol in docs/widget-protocol.md. Plain JS, no build step; everything
 * lives in a Shadow DOM so the host page's CSS cannot reach it, and every text from the
 * server or the visitor goes through textContent. The only global is window.LeadbotWidget.
 */
(() => {
  "use strict";

  if (window.LeadbotWidget) return; // embedded twice: the first one wins

  const script =
    document.currentScript || document.querySelector('script[src*="widget.js"]');
  const option = (name, fallback) => (script && script.getAttribute(name)) || fallback;

  const KEY = {
    token: "leadbot.token",
    outbox: "leadbot.outbox",
    read: "leadbot.read",
    firstTouch: "leadbot.first_touch",
    open: "leadbot.open",
  };
  const UTM_FIELDS = ["source", "medium", "campaign", "term", "content"];
  const MAX_TEXT = 2000;
  const PING_MS = 25000;
  const TYPING_SEND_EVERY_MS = 2000;
  const TYPING_SHOWN_MS = 6000;
  const BASE_DELAY_MS = Math.max(10, Number(option("data-reconnect-ms", "1000")) || 1000);
  const MAX_DELAY_MS = Math.min(30000, BASE_DELAY_MS * 30);
  const TITLE = option("data-title", "Chat with us");
  const SUBTITLE = option("data-subtitle", "We usually reply in a few minutes");
  const ACCENT = option("data-accent", "");

  const ERROR_TEXT = {
    too_long: "That message is too long — please keep it under 2,000 characters.",
    rate_limited: "You're sending messages a little fast. We'll retry in a moment.",
    unavailable: "We couldn't save that just now. We'll keep trying.",
    closed: "This conversation has ended.",
  };
  const PLACEHOLDER = {
    text: "Type your message…",
    email: "you@company.com",
    phone: "Your phone number",
    number: "Enter a number",
    choice: "Pick an option or type…",
  };

  // ---- storage (private browsing can forbid it: fall back to memory) ----

  function storageOr(name) {
    try {
      const s = window[name];
      s.setItem("leadbot.probe", "1");
      s.removeItem("leadbot.probe");
      return s;
    } catch (_) {
      const m = new Map();
      return {
        getItem: (k) => (m.has(k) ? m.get(k) : null),
        setItem: (k, v) => m.set(k, String(v)),
        removeItem: (k) => m.delete(k),
      };
    }
  }
  const local = storageOr("localStorage");
  const session = storageOr("sessionStorage");

  function loadJson(key, fallback) {
    try {
      const raw = local.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (_) {
      return fallback;
    }
  }
  function saveJson(key, value) {
    try {
      local.setItem(key, JSON.stringify(value));
    } catch (_) {
      /* full or forbidden: the in-memory state still works for this page */
    }
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // ---- where the visitor is ----

  const clip = (s, n) => String(s || "").slice(0, n);

  function pageInfo(referrer) {
    return {
      url: clip(location.href, 2048),
      referrer: clip(referrer === undefined ? document.referrer : referrer, 2048),
      title: clip(document.title, 300),
    };
  }

  function utmFrom(search) {
    const params = new URLSearchParams(search);
    const utm = {};
    for (const field of UTM_FIELDS) {
      const value = params.get(`utm_${field}`);
      if (value) utm[field] = clip(value, 200);
    }
    return utm;
  }

  const isEmpty = (o) => Object.keys(o).length === 0;

  // First touch is remembered once per browser: a new conversation started on a later
  // page without UTM parameters still carries the campaign that brought the visitor.
  let firstTouch = loadJson(KEY.firstTouch, null);
  if (!firstTouch) {
    firstTouch = { utm: utmFrom(location.search), referrer: document.referrer, url: location.href };
    saveJson(KEY.firstTouch, firstTouch);
  }

  function utmForHello(hasToken) {
    const current = utmFrom(location.search);
    if (isEmpty(current) && !hasToken && firstTouch.utm) return firstTouch.utm;
    return current;
  }

  // ---- DOM helpers (text only through textContent) ----

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function icon(paths, className) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    if (className) svg.setAttribute("class", className);
    for (const d of paths) {
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      svg.append(path);
    }
    return svg;
  }
  const ICON_CHAT = [
    "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.6.5-1.5.1-1.5-.7V16A2.5 2.5 0 0 1 4 13.5z",
  ];
  const ICON_CLOSE = ["M6 6l12 12M18 6L6 18"];
  const ICON_SEND = ["M4 12l15-7-5.5 15-2.6-6.1z", "M11 13.9L19 5"];

  // ---- styles ----

  const CSS = `
:host { all: initial; }
*, *::before, *::after { box-sizing: border-box; }
.lb {
  --accent: #4f46e5; --accent-ink: #fff; --ink: #111827; --muted: #6b7280;
  --line: #e5e7eb; --bubble: #f1f3f8; --bg: #fff;
  font: 15px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); -webkit-font-smoothing: antialiased;
}
button, input { font: inherit; color: inherit; }
button { cursor: pointer; }
:focus-visible { outline: 3px solid color-mix(in srgb, var(--accent) 55%, white); outline-offset: 2px; }
.launcher {
  position: fixed; right: 24px; bottom: 24px; z-index: 2147483000;
  width: 60px; height: 60px; border: 0; border-radius: 50%;
  background: var(--accent); color: var(--accent-ink);
  display: grid; place-items: center;
  box-shadow: 0 10px 30px rgba(17, 24, 39, .25), 0 2px 6px rgba(17, 24, 39, .15);
  transition: transform .2s ease, box-shadow .2s ease;
}
.launcher:hover { transform: translateY(-2px) scale(1.03); box-shadow: 0 14px 34px rgba(17, 24, 39, .3); }
.launcher svg { width: 28px; height: 28px; grid-area: 1 / 1; transition: transform .2s ease, opacity .2s ease; }
.launcher .i-chat { fill: currentColor; }
.launcher .i-close { fill: none; stroke: currentColor; stroke-width: 2.4; stroke-linecap: round; opacity: 0; transform: rotate(-90deg); }
.lb.open .launcher .i-chat { opacity: 0; transform: rotate(90deg); }
.lb.open .launcher .i-close { opacity: 1; transform: none; }
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #ef4444; color: #fff; border: 2px solid #fff;
  font-size: 12px; font-weight: 700; line-height: 18px; text-align: center;
}
.badge[hidden] { display: none; }
.panel {
  position: fixed; right: 24px; bottom: 100px; z-index: 2147483000;
  width: 380px; height: min(640px, calc(100vh - 130px)); max-height: calc(100vh - 130px);
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--bg); border-radius: 18px;
  box-shadow: 0 24px 60px rgba(17, 24, 39, .22), 0 4px 14px rgba(17, 24, 39, .1);
  transform-origin: bottom right; animation: lb-pop .22s cubic-bezier(.2, .9, .3, 1.1);
}
.panel[hidden] { display: none; }
@keyframes lb-pop { from { opacity: 0; transform: translateY(12px) scale(.96); } }
header {
  display: flex; align-items: center; gap: 12px; padding: 16px 14px 16px 18px;
  background: linear-gradient(135deg, var(--accent), color-mix(in srgb, var(--accent) 70%, #000));
  color: var(--accent-ink);
}
.avatar {
  flex: none; width: 40px; height: 40px; border-radius: 50%;
  display: grid; place-items: center; font-weight: 700; font-size: 17px;
  background: rgba(255, 255, 255, .2); box-shadow: inset 0 0 0 2px rgba(255, 255, 255, .35);
}
.heading { flex: 1; min-width: 0; }
.title { margin: 0; font-size: 16px; font-weight: 650; line-height: 1.25; }
.subtitle { display: flex; align-items: center; gap: 6px; font-size: 13px; opacity: .9; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: #34d399; box-shadow: 0 0 0 2px rgba(255,255,255,.25); }
.lb[data-connection="offline"] .dot, .lb[data-connection="connecting"] .dot { background: #fbbf24; }
.close {
  flex: none; width: 36px; height: 36px; border: 0; border-radius: 10px;
  background: transparent; color: inherit; display: grid; place-items: center;
}
.close:hover { background: rgba(255, 255, 255, .15); }
.close svg { width: 20px; height: 20px; fill: none; stroke: currentColor; stroke-width: 2.2; stroke-linecap: round; }
.scroll { flex: 1; overflow-y: auto; padding: 18px 16px 8px; background: #fafbfc; overscroll-behavior: contain; }
.log { display: flex; flex-direction: column; gap: 4px; }
.row { display: flex; flex-direction: column; max-width: 82%; align-self: flex-start; animation: lb-in .18s ease-out; }
@keyframes lb-in { from { opacity: 0; transform: translateY(6px); } }
.row.visitor { align-self: flex-end; align-items: flex-end; }
.row + .row:not(.visitor), .row.visitor + .row:not(.visitor), .row:not(.visitor) + .row.visitor { margin-top: 8px; }
.name { font-size: 12px; font-weight: 600; color: var(--muted); margin: 0 0 3px 10px; }
.bubble {
  padding: 9px 13px; border-radius: 18px 18px 18px 5px; background: var(--bubble);
  white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word;
}
.row.rep .bubble { background: #fff; box-shadow: inset 0 0 0 1px var(--line); }
.row.visitor .bubble { border-radius: 18px 18px 5px 18px; background: var(--accent); color: var(--accent-ink); }
.row.visitor[data-status="pending"] .bubble { opacity: .65; }
.row.visitor[data-status="failed"] .bubble { background: #fee2e2; color: #991b1b; }
.meta { font-size: 11px; color: var(--muted); margin: 3px 8px 0; }
.status:not(:empty)::before { content: " · "; }
.row.visitor[data-status="sent"]:not(.last-sent) .status { display: none; }
.row.visitor[data-status="failed"] .status { color: #b91c1c; }
.typing { display: flex; align-items: center; gap: 8px; margin-top: 10px; color: var(--muted); font-size: 12px; }
.typing[hidden] { display: none; }
.dots { display: inline-flex; gap: 4px; padding: 11px 13px; border-radius: 18px 18px 18px 5px; background: var(--bubble); }
.dots i { width: 7px; height: 7px; border-radius: 50%; background: #9ca3af; animation: lb-blink 1.2s infinite ease-in-out; }
.dots i:nth-child(2) { animation-delay: .15s; }
.dots i:nth-child(3) { animation-delay: .3s; }
@keyframes lb-blink { 0%, 60%, 100% { opacity: .35; transform: none; } 30% { opacity: 1; transform: translateY(-3px); } }
.notice { margin: 0 16px; font-size: 13px; color: #92400e; background: #fffbeb; border: 1px solid #fde68a; border-radius: 10px; padding: 7px 10px; }
.notice:empty { display: none; }
.choices { display: flex; flex-wrap: wrap; gap: 8px; justify-content: flex-end; padding: 10px 16px 2px; background: #fafbfc; }
.choices:empty { display: none; }
.choice {
  border: 1.5px solid var(--accent); color: var(--accent); background: #fff;
  border-radius: 999px; padding: 7px 14px; font-size: 14px; font-weight: 550;
  transition: background .15s ease, color .15s ease;
}
.choice:hover, .choice:focus-visible { background: var(--accent); color: var(--accent-ink); }
form { display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px; border-top: 1px solid var(--line); background: #fff; }
.field {
  flex: 1; min-width: 0; height: 44px; padding: 0 14px; border-radius: 22px;
  border: 1px solid var(--line); background: #f9fafb; font-size: 16px; outline: none;
  transition: border-color .15s ease, background .15s ease, box-shadow .15s ease;
}
.field:focus { border-color: var(--accent); background: #fff; box-shadow: 0 0 0 3px color-mix(in srgb, var(--accent) 18%, transparent); }
.field::placeholder { color: #9ca3af; }
.send {
  flex: none; width: 44px; height: 44px; border: 0; border-radius: 50%;
  background: var(--accent); color: var(--accent-ink); display: grid; place-items: center;
  transition: transform .15s ease, opacity .15s ease;
}
.send:hover { transform: scale(1.06); }
.send svg { width: 20px; height: 20px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
.footer { text-align: center; font-size: 11px; color: #9ca3af; padding: 0 0 8px; background: #fff; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) {
  .launcher { right: 16px; bottom: 16px; width: 56px; height: 56px; }
  .lb.open .launcher { display: none; }
  .panel {
    inset: 0; right: 0; bottom: 0; width: 100%; height: 100%; max-height: none;
    border-radius: 0; animation-name: lb-up;
  }
  header { padding-top: max(16px, env(safe-area-inset-top)); }
  form { padding-bottom: max(12px, env(safe-area-inset-bottom)); }
  .row { max-width: 88%; }
}
@keyframes lb-up { from { transform: translateY(24px); opacity: 0; } }
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation: none !important; transition: none !important; }
}
`;

  // ---- the UI ----

  const host = el("div", { id: "leadbot-widget", "data-leadbot": "" });
  host.style.cssText = "all: initial; position: fixed; z-index: 2147483000;";
  const root = host.attachShadow({ mode: "open" });

  const badge = el("span", { class: "badge", "aria-hidden": "true", hidden: true });
  const launcher = el(
    "button",
    { class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "lb-panel" },
    icon(ICON_CHAT, "i-chat"),
    icon(ICON_CLOSE, "i-close"),
    badge,
  );
  const statusText = el("span", { text: SUBTITLE });
  const closeButton = el(
    "button",
    { class: "close", type: "button", "aria-label": "Close chat" },
    icon(ICON_CLOSE),
  );
  const log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  const typingText = el("span");
  const typing = el(
    "div",
    { class: "typing", hidden: true },
    el("span", { class: "dots", "aria-hidden": "true" }, el("i"), el("i"), el("i")),
    typingText,
  );
  const scroller = el("div", { class: "scroll" }, log, typing);
  const notice = el("div", { class: "notice", role: "status" });
  const choices = el("div", { class: "choices", role: "group", "aria-label": "Suggested answers" });
  const field = el("input", {
    class: "field",
    type: "text",
    "aria-label": "Message",
    maxlength: String(MAX_TEXT),
    autocomplete: "off",
    enterkeyhint: "send",
    placeholder: PLACEHOLDER.text,
  });
  const sendButton = el("button", { class: "send", type: "submit", "aria-label": "Send" }, icon(ICON_SEND));
  const form = el("form", { novalidate: true }, field, sendButton);
  const panel = el(
    "section",
    { class: "panel", id: "lb-panel", role: "dialog", "aria-label": TITLE, hidden: true },
    el(
      "header",
      null,
      el("div", { class: "avatar", "aria-hidden": "true", text: TITLE.trim().charAt(0).toUpperCase() }),
      el(
        "div",
        { class: "heading" },
        el("h2", { class: "title", text: TITLE }),
        el("div", { class: "subtitle" }, el("span", { class: "dot", "aria-hidden": "true" }), statusText),
      ),
      closeButton,
    ),
    scroller,
    notice,
    choices,
    form,
    el("div", { class: "footer", text: "Powered by leadbot" }),
  );
  const shell = el("div", { class: "lb", "data-connection": "connecting" }, launcher, panel);
  if (ACCENT) shell.style.setProperty("--accent", ACCENT);
  root.append(el("style", { text: CSS }), shell);

  // ---- conversation state ----

  let token = local.getItem(KEY.token) || "";
  let outbox = loadJson(KEY.outbox, []).filter((m) => m && m.client_id && m.text);
  let read = loadJson(KEY.read, { token: "", seq: 0 });
  const seen = new Map(); // seq -> author, for what is rendered in the log
  let phase = "qualifying";
  let lastChoices = [];
  let isOpen = false;

  const timeOf = (iso) => {
    const d = iso ? new Date(iso) : new Date();
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  };

  function maxSeq() {
    let top = 0;
    for (const seq of seen.keys()) top = Math.max(top, seq);
    return top;
  }

  function unreadCount() {
    let n = 0;
    for (const [seq, author] of seen) if (author !== "visitor" && seq > read.seq) n += 1;
    return n;
  }

  function renderBadge() {
    const n = isOpen ? 0 : unreadCount();
    badge.hidden = n === 0;
    badge.textContent = n > 9 ? "9+" : String(n);
    launcher.setAttribute(
      "aria-label",
      isOpen ? "Minimize chat" : n ? `Open chat, ${n} unread message${n === 1 ? "" : "s"}` : "Open chat",
    );
  }

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }
  function scrollDown() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function messageRow(author, text, at, name) {
    const statusEl = el("span", { class: "status" });
    const row = el(
      "div",
      { class: `row ${author}`, "data-author": author },
      author === "rep" && name ? el("div", { class: "name", text: name }) : null,
      el("div", { class: "bubble", text }),
      el("div", { class: "meta" }, el("time", { text: timeOf(at), datetime: at || "" }), statusEl),
    );
    row.statusEl = statusEl;
    return row;
  }

  function setRowStatus(row, status, label) {
    row.setAttribute("data-status", status);
    row.statusEl.textContent = label;
    if (status === "sent") {
      for (const other of log.querySelectorAll(".last-sent")) other.classList.remove("last-sent");
      const rows = log.querySelectorAll('.row.visitor[data-status="sent"]');
      if (rows.length) rows[rows.length - 1].classList.add("last-sent");
    }
  }

  /** Insert a stored message in seq order, before any still-pending visitor message. */
  function renderMessage(msg) {
    const seq = Number(msg.seq);
    if (!Number.isFinite(seq) || seen.has(seq)) return false;
    const author = ["visitor", "bot", "rep"].includes(msg.author) ? msg.author : "bot";
    const row = messageRow(author, String(msg.text ?? ""), msg.at, msg.name);
    row.setAttribute("data-seq", String(seq));
    seen.set(seq, author);
    const stick = nearBottom();
    let before = null;
    for (const other of log.children) {
      const otherSeq = Number(other.getAttribute("data-seq"));
      if (!other.hasAttribute("data-seq") || otherSeq > seq) {
        before = other;
        break;
      }
    }
    log.insertBefore(row, before);
    if (author === "visitor") setRowStatus(row, "sent", "Sent");
    if (author !== "visitor" && Array.isArray(msg.choices)) lastChoices = msg.choices.map(String);
    if (stick || author === "visitor") scrollDown();
    return true;
  }

  function renderPending(item) {
    const row = messageRow("visitor", item.text, item.at);
    row.setAttribute("data-client-id", item.client_id);
    setRowStatus(row, "pending", "Sending…");
    log.append(row);
    scrollDown();
  }

  function pendingRow(clientId) {
    for (const row of log.querySelectorAll(".row[data-client-id]")) {
      if (row.getAttribute("data-client-id") === clientId) return row;
    }
    return null;
  }

  function setNotice(text) {
    notice.textContent = text || "";
  }

  let typingTimer = 0;
  function showTyping(frame) {
    const who = frame.author === "rep" ? frame.name || "Someone" : frame.name || TITLE;
    typingText.textContent = `${who} is typing…`;
    const stick = nearBottom();
    typing.hidden = false;
    if (stick) scrollDown();
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
  }
  function hideTyping() {
    clearTimeout(typingTimer);
    typing.hidden = true;
  }

  function renderChoices(labels) {
    choices.replaceChildren(
      ...labels.map((label) =>
        el("button", { class: "choice", type: "button", text: label, onclick: () => send(label) }),
      ),
    );
  }

  function applyState(state) {
    if (!state || typeof state !== "object") return;
    if (typeof state.phase === "string") phase = state.phase;
    const input = state.input && typeof state.input === "object" ? state.input : { kind: "text" };
    const kind = PLACEHOLDER[input.kind] ? input.kind : "text";
    field.type = kind === "email" ? "email" : kind === "phone" ? "tel" : "text";
    const mode = { email: "email", phone: "tel", number: "numeric" }[kind];
    if (mode) field.setAttribute("inputmode", mode);
    else field.removeAttribute("inputmode");
    field.setAttribute("autocomplete", kind === "email" ? "email" : kind === "phone" ? "tel" : "off");
    field.placeholder = typeof input.placeholder === "string" ? input.placeholder : PLACEHOLDER[kind];
    const labels = Array.isArray(input.choices) ? input.choices.map(String) : lastChoices;
    renderChoices(kind === "choice" ? labels : []);
    if (phase === "closed") setNotice(ERROR_TEXT.closed);
  }

  // ---- the connection ----

  let ws = null;
  let ready = false;
  let attempts = 0;
  let reconnectTimer = 0;
  let pingTimer = 0;
  let awaitingPong = false;
  let lastTypingSent = 0;
  let readSent = 0;
  const inflight = new Set(); // client_ids sent on the current connection

  function socketUrl() {
    const override = option("data-server", "");
    const url = new URL(override || (script && script.src) || location.href, location.href);
    if (url.protocol === "http:") url.protocol = "ws:";
    else if (url.protocol === "https:") url.protocol = "wss:";
    if (!override || url.pathname.endsWith("/")) {
      // .../widget.js -> .../widget/ws, so a leadbot under a path prefix works too
      url.pathname = url.pathname.replace(/[^/]*$/, "widget/ws");
      if (!override) url.search = "";
    }
    url.hash = "";
    return url.href;
  }
  const SOCKET_URL = socketUrl();

  function sendFrame(frame) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function setConnection(state) {
    shell.setAttribute("data-connection", state);
    statusText.textContent =
      state === "online" ? SUBTITLE : state === "connecting" ? "Connecting…" : "Reconnecting…";
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (ws) return;
    let socket;
    try {
      socket = new WebSocket(SOCKET_URL);
    } catch (_) {
      scheduleReconnect(false);
      return;
    }
    ws = socket;
    setConnection("connecting");
    socket.onopen = () => {
      const hello = { type: "hello", page: pageInfo(), utm: utmForHello(Boolean(token)) };
      if (token) hello.token = token;
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = (event) => {
      if (socket !== ws || typeof event.data !== "string") return;
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (data && typeof data === "object" && !Array.isArray(data)) handle(data);
    };
    socket.onclose = (event) => dropped(socket, event.code === 4429);
    socket.onerror = () => {}; // a close event follows
  }

  function dropped(socket, refused) {
    if (socket !== ws) return;
    ws = null;
    ready = false;
    inflight.clear();
    clearInterval(pingTimer);
    hideTyping();
    setConnection("offline");
    try {
      socket.close();
    } catch (_) {
      /* already closed */
    }
    scheduleReconnect(refused);
  }

  function scheduleReconnect(refused) {
    clearTimeout(reconnectTimer);
    const delay = refused ? MAX_DELAY_MS : Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempts);
    attempts += 1;
    // +-20 % jitter so a restarted server is not hit by every widget in the same instant
    reconnectTimer = setTimeout(connect, delay * (0.8 + Math.random() * 0.4));
  }

  function startPing() {
    clearInterval(pingTimer);
    awaitingPong = false;
    pingTimer = setInterval(() => {
      if (awaitingPong) return dropped(ws, false); // half-open socket: start over
      awaitingPong = sendFrame({ type: "ping" });
    }, PING_MS);
  }

  function flushOutbox() {
    if (!ready) return;
    for (const item of outbox) {
      if (inflight.has(item.client_id)) continue;
      if (sendFrame({ type: "message", text: item.text, client_id: item.client_id })) {
        inflight.add(item.client_id);
      }
    }
  }

  function saveOutbox() {
    saveJson(KEY.outbox, outbox);
  }

  function markRead() {
    if (!isOpen) return;
    const top = maxSeq();
    if (top > read.seq) {
      read = { token, seq: top };
      saveJson(KEY.read, read);
    }
    if (ready && top > readSent) {
      readSent = top;
      sendFrame({ type: "read", up_to: top });
    }
    renderBadge();
  }

  function onWelcome(frame) {
    if (typeof frame.token === "string" && frame.token) {
      token = frame.token;
      local.setItem(KEY.token, token);
    }
    if (read.token !== token) {
      read = { token, seq: 0 };
      saveJson(KEY.read, read);
    }
    ready = true;
    attempts = 0;
    readSent = 0;
    setConnection("online");
    setNotice("");
    seen.clear();
    log.replaceChildren();
    lastChoices = [];
    for (const msg of Array.isArray(frame.history) ? frame.history : []) {
      if (msg && typeof msg === "object") renderMessage(msg);
    }
    for (const item of outbox) renderPending(item);
    applyState(frame.state);
    scrollDown();
    startPing();
    flushOutbox();
    markRead();
    renderBadge();
  }

  function onAck(frame) {
    const clientId = String(frame.client_id || "");
    outbox = outbox.filter((m) => m.client_id !== clientId);
    saveOutbox();
    inflight.delete(clientId);
    const row = pendingRow(clientId);
    if (!row) return;
    const seq = Number(frame.seq);
    if (seen.has(seq)) {
      row.remove(); // already in the history from before the reconnect
      return;
    }
    row.removeAttribute("data-client-id");
    if (Number.isFinite(seq)) {
      row.setAttribute("data-seq", String(seq));
      seen.set(seq, "visitor");
    }
    setRowStatus(row, "sent", "Sent");
    markRead();
  }

  let retryTimer = 0;
  function onError(frame) {
    const code = String(frame.code || "");
    const clientId = frame.client_id ? String(frame.client_id) : "";
    setNotice(ERROR_TEXT[code] || String(frame.message || "Something went wrong."));
    if (!clientId) return;
    inflight.delete(clientId);
    if (code === "rate_limited" || code === "unavailable") {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(flushOutbox, BASE_DELAY_MS * 5);
      return;
    }
    // too_long, bad_frame or closed: resending cannot help
    outbox = outbox.filter((m) => m.client_id !== clientId);
    saveOutbox();
    const row = pendingRow(clientId);
    if (row) setRowStatus(row, "failed", "Not sent");
  }

  function handle(frame) {
    switch (frame.type) {
      case "welcome":
        return onWelcome(frame);
      case "ack":
        return onAck(frame);
      case "message":
        if (renderMessage(frame) && frame.author !== "visitor") {
          hideTyping();
          if (isOpen && document.visibilityState === "visible") markRead();
        }
        return renderBadge();
      case "typing":
        return showTyping(frame);
      case "state":
        return applyState(frame);
      case "pong":
        awaitingPong = false;
        return undefined;
      case "error":
        return onError(frame);
      default:
        return undefined; // newer servers may add frames: ignore them
    }
  }

  // ---- visitor actions ----

  function send(raw) {
    const text = String(raw ?? "").trim();
    if (!text) return false;
    if (text.length > MAX_TEXT) {
      setNotice(ERROR_TEXT.too_long);
      return false;
    }
    setNotice("");
    const item = { client_id: uuid(), text, at: new Date().toISOString() };
    outbox.push(item);
    saveOutbox();
    renderPending(item);
    renderChoices([]);
    flushOutbox();
    return true;
  }

  function open(focus = true) {
    if (isOpen) return;
    isOpen = true;
    session.setItem(KEY.open, "1");
    panel.hidden = false;
    shell.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    scrollDown();
    if (focus) field.focus({ preventScroll: true });
    markRead();
    renderBadge();
  }

  function close() {
    if (!isOpen) return;
    isOpen = false;
    session.removeItem(KEY.open);
    panel.hidden = true;
    shell.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    renderBadge();
  }

  launcher.addEventListener("click", () => (isOpen ? close() : open()));
  closeButton.addEventListener("click", () => {
    close();
    launcher.focus();
  });
  shell.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen) {
      event.stopPropagation();
      close();
      launcher.focus();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (send(field.value)) field.value = "";
  });
  field.addEventListener("input", () => {
    const now = Date.now();
    if (ready && field.value && now - lastTypingSent >= TYPING_SEND_EVERY_MS) {
      lastTypingSent = now;
      sendFrame({ type: "typing" });
    }
  });

  // ---- single-page apps: report page views on history changes ----

  let lastUrl = location.href;
  function pageChanged() {
    const url = location.href;
    if (url === lastUrl) return;
    const referrer = lastUrl;
    lastUrl = url;
    // after the app has had a chance to set the new title
    setTimeout(() => {
      if (ready) sendFrame({ type: "page_view", page: pageInfo(referrer), utm: utmFrom(location.search) });
    }, 0);
  }
  const pushState = history.pushState;
  history.pushState = function leadbotPushState(...args) {
    const result = pushState.apply(this, args);
    pageChanged();
    return result;
  };
  window.addEventListener("popstate", pageChanged);

  window.addEventListener("online", () => {
    if (!ws) connect();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !ws) connect();
  });

  function mount() {
    document.body.append(host);
    renderBadge();
    if (session.getItem(KEY.open) === "1") {
      open(false); // the panel stays open across a reload, without stealing focus
    }
    connect();
  }

  window.LeadbotWidget = Object.freeze({
    open: () => open(),
    close,
    toggle: () => (isOpen ? close() : open()),
    send,
    get isOpen() {
      return isOpen;
    },
  });

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
