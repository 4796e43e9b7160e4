// The /models dashboard: loads the server-rendered sections, runs actions through the REST API and follows
// operations over their event stream. A token (VENOM_HTTP_TOKEN) lives in sessionStorage, never in the URL.
"use strict";

const TOKEN_KEY = "venom-mcp-token";
const API = "/api/v1";
const following = new Map(); // operation_id -> AbortController
let serverError = null;

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

class Unauthorized extends Error {}

function authHeaders(extra = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function send(url, options = {}) {
  let response;
  try {
    response = await fetch(url, { ...options, headers: authHeaders(options.headers) });
  } catch (error) {
    if (error.name !== "AbortError") {
      serverError = `venom-mcp is not reachable (${error.message}); showing what was loaded before.`;
      updateBanner();
    }
    throw error;
  }
  serverError = null;
  if (response.status === 401) {
    showLogin(sessionStorage.getItem(TOKEN_KEY) ? "That token was refused." : "");
    throw new Unauthorized();
  }
  return response;
}

async function api(method, path, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  const response = await send(API + path, options);
  const data = await response.json().catch(() => ({ success: false, error: `HTTP ${response.status}` }));
  if (!response.ok || data.success === false) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

// ---- sections -------------------------------------------------------------------------------------

async function load(container, refresh = false) {
  if (!container) return;
  container.setAttribute("aria-busy", "true");
  try {
    // Refresh asks the source again (refresh=true); other loads read the server's cache.
    let url = container.dataset.fragment;
    if (refresh) url += (url.includes("?") ? "&" : "?") + "refresh=true";
    const response = await send(url, { headers: { Accept: "text/html" } });
    container.innerHTML = await response.text(); // rendered and escaped by the server
  } catch (error) {
    if (!(error instanceof Unauthorized) && !container.innerHTML.trim()) {
      container.textContent = "Could not load this section.";
    }
  } finally {
    container.removeAttribute("aria-busy");
    updateBanner();
    followLive();
  }
}

const reload = (...ids) => Promise.all(ids.map((id) => load(document.getElementById(id))));
const loadAll = () => Promise.all($$("[data-fragment]").map(load));

function updateBanner() {
  const banner = $("#offline-banner");
  const lines = [];
  if (serverError) lines.push(serverError);
  for (const head of $$('[data-stale="true"]')) {
    const when = head.dataset.fetchedAt ? new Date(head.dataset.fetchedAt).toLocaleString() : null;
    lines.push(`Offline: ${head.dataset.source} could not be reached; ` +
      (when ? `showing cached data from ${when}.` : "no cached data yet.") + " Use Refresh to retry.");
  }
  banner.textContent = lines.join(" ");
  banner.hidden = lines.length === 0;
}

function notify(message, isError = false) {
  const notice = $("#notice");
  notice.textContent = message;
  notice.classList.toggle("error", isError);
}

// ---- operations: Server-Sent Events read through fetch, so the Authorization header goes along ---------

function showOperation(op) {
  const row = $(`[data-operation-id="${CSS.escape(op.operation_id)}"]`);
  if (!row) return;
  row.dataset.status = op.status;
  $("progress", row).value = op.progress;
  $("progress", row).textContent = `${op.progress} %`;
  const status = $('[data-field="status"]', row);
  status.textContent = op.status;
  status.className = `badge ${op.status}`;
  let numbers = `${Math.floor(op.progress)} %`;
  if (op.bytes_total) numbers += ` · ${size(op.bytes_done || 0)} of ${size(op.bytes_total)}`;
  $('[data-field="numbers"]', row).textContent = numbers;
  $('[data-field="message"]', row).textContent = op.message || "";
  $('[data-field="error"]', row).textContent = op.error || "";
}

function size(bytes) {
  const units = [[1 << 30, "GiB"], [1 << 20, "MiB"], [1 << 10, "KiB"]];
  for (const [limit, unit] of units) if (bytes >= limit) return `${(bytes / limit).toFixed(1)} ${unit}`;
  return `${bytes} B`;
}

function parseEvent(block) {
  const event = { type: "message", data: "" };
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith("event:")) event.type = line.slice(6).trim();
    else if (line.startsWith("data:")) event.data += line.slice(5).trimStart();
  }
  return event;
}

async function follow(id) {
  const controller = new AbortController();
  following.set(id, controller);
  let final = null;
  try {
    const response = await send(`${API}/models/operations/${encodeURIComponent(id)}/events`, {
      headers: { Accept: "text/event-stream" }, signal: controller.signal,
    });
    if (!response.ok) return;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    while (final === null) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let match;
      while (final === null && (match = /\r?\n\r?\n/.exec(buffer))) {
        const event = parseEvent(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
        if (!event.data) continue;
        const op = JSON.parse(event.data);
        showOperation(op);
        if (event.type === "end") final = op;
      }
    }
    controller.abort();
  } catch (error) {
    if (error.name !== "AbortError" && !(error instanceof Unauthorized)) notify(`Lost the progress of ${id}: ${error.message}`, true);
  } finally {
    following.delete(id);
  }
  if (final) finished(final);
}

function finished(op) {
  const what = `${op.operation_type} of ${op.model_name}`;
  if (op.status === "completed") notify(`${what} completed.`);
  else notify(`${what} ${op.status}: ${op.error || op.message || ""}`, op.status === "failed");
  reload("operations-list", "installed-list", "runtime");
}

function followLive() {
  for (const row of $$("[data-operation-id][data-live]")) {
    const id = row.dataset.operationId;
    if (!following.has(id)) follow(id);
  }
}

// ---- actions ----------------------------------------------------------------------------------------

const actions = {
  refresh: (button) => load(button.closest("[data-fragment]"), true),
  async install(button) {
    const { name, provider } = button.dataset;
    const data = await api("POST", "/models/registry/install", { name, provider });
    notify(data.message);
    await reload("operations-list");
  },
  async activate(button) {
    const { name, runtime } = button.dataset;
    notify(`Activating ${name} on ${runtime}…`);
    const data = await api("POST", "/models/activate", { name, runtime });
    notify(data.message);
    await reload("installed-list", "runtime");
  },
  async remove(button) {
    const { name, provider } = button.dataset;
    if (!window.confirm(`Remove ${name}? Its files are deleted from disk.`)) return;
    const query = provider ? `?provider=${encodeURIComponent(provider)}` : "";
    const data = await api("DELETE", `/models/registry/${encodeURIComponent(name)}${query}`);
    notify(data.message);
    await reload("installed-list", "operations-list");
  },
  async cancel(button) {
    await api("POST", `/models/operations/${encodeURIComponent(button.dataset.operation)}/cancel`);
    await reload("operations-list");
  },
};

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button || button.disabled) return;
  button.disabled = true;
  try {
    await actions[button.dataset.action](button);
  } catch (error) {
    if (!(error instanceof Unauthorized)) notify(error.message, true);
  } finally {
    if (button.isConnected) button.disabled = false;
  }
});

function showLogin(message) {
  $("#login").hidden = false;
  $("#content").hidden = true;
  $("#login-error").textContent = message;
  $("#token").focus();
}

function wireForms() {
  $("#login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
    $("#token").value = "";
    $("#login").hidden = true;
    $("#content").hidden = false;
    loadAll();
  });
  $("#search").addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams(new FormData(event.target));
    const catalog = $("#catalog");
    catalog.dataset.fragment = `/models/fragments/catalog?${params}`;
    load(catalog);
  });
  $("#news-controls").addEventListener("change", (event) => {
    const params = new URLSearchParams(new FormData(event.currentTarget));
    if (!params.get("lang")) params.delete("lang");
    const news = $("#news-list");
    news.dataset.fragment = `/models/fragments/news?${params}`;
    load(news);
  });
}

wireForms();
loadAll();
