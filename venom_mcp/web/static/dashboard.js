// The /models dashboard: loads the server-rendered sections in the chosen language, runs the actions through the
// REST API, follows operations over their event stream, and draws the live state (live.js, runtimes.js).
"use strict";

import { API, TOKEN_KEY, Unauthorized, api, forceable, hooks, readEvents, send } from "./net.js";
import { choose, language, loadCatalogs, size, t, translatePage, when } from "./i18n.js";
import { drawAlerts, drawGauges, onAlerts, onRuntime, startLive } from "./live.js";
import { control, drawRuntimes, moveTab, repair, selectTab } from "./runtimes.js";
import { decorateCatalog, install, redrawBadges } from "./catalog.js";

const following = new Map(); // operation_id -> AbortController
let serverError = null;

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

hooks.unauthorized = () => showLogin(sessionStorage.getItem(TOKEN_KEY) ? t("login.refused") : "");
hooks.reachable = (error) => {
  const now = error ? t("offline.server", { error: error.message }) : null;
  if (now !== serverError) {
    serverError = now;
    updateBanner();
  }
};

// ---- sections -------------------------------------------------------------------------------------

function fragmentUrl(container, refresh) {
  const url = new URL(container.dataset.fragment, location.origin);
  url.searchParams.set("lang", language());
  if (refresh) url.searchParams.set("refresh", "true"); // asks the source again; other loads read the cache
  return url.pathname + url.search;
}

async function load(container, refresh = false) {
  if (!container) return;
  container.setAttribute("aria-busy", "true");
  try {
    const response = await send(fragmentUrl(container, refresh), { headers: { Accept: "text/html" } });
    container.innerHTML = await response.text(); // rendered and escaped by the server
    decorateCatalog(container);
  } catch (error) {
    if (!(error instanceof Unauthorized) && !container.innerHTML.trim()) {
      container.textContent = t("section.failed");
    }
  } finally {
    container.removeAttribute("aria-busy");
    updateBanner();
    followLive();
  }
}

const reload = (...ids) => Promise.all(ids.map((id) => load(document.getElementById(id))));
const loadAll = () => Promise.all($$("[data-fragment]").map((container) => load(container)));

function updateBanner() {
  const banner = $("#offline-banner");
  const lines = [];
  if (serverError) lines.push(serverError);
  for (const head of $$('[data-stale="true"]')) {
    const fetched = head.dataset.fetchedAt;
    lines.push(t("offline.source", { source: head.dataset.source }) + " "
      + (fetched ? t("offline.cached", { when: when(fetched) }) : t("offline.nothing")) + " " + t("offline.retry"));
  }
  $('[data-field="text"]', banner).textContent = lines.join(" ");
  banner.hidden = lines.length === 0;
}

function notify(message, isError = false) {
  const notice = $("#notice");
  notice.textContent = message;
  notice.classList.toggle("error", isError);
}

// ---- operations ---------------------------------------------------------------------------------------

function showOperation(op) {
  const row = $(`[data-operation-id="${CSS.escape(op.operation_id)}"]`);
  if (!row) return;
  row.dataset.status = op.status;
  $("progress", row).value = op.progress;
  $("progress", row).textContent = `${op.progress} %`;
  const status = $('[data-field="status"]', row);
  status.textContent = t(`status.${op.status}`);
  status.dataset.status = op.status;
  status.className = `badge ${op.status}`;
  let numbers = `${Math.floor(op.progress)} %`;
  if (op.bytes_total) numbers += ` · ${size(op.bytes_done || 0)} ${t("operations.of")} ${size(op.bytes_total)}`;
  $('[data-field="numbers"]', row).textContent = numbers;
  $('[data-field="message"]', row).textContent = op.message || "";
  $('[data-field="error"]', row).textContent = op.error || "";
}

async function follow(id) {
  const controller = new AbortController();
  following.set(id, controller);
  let final = null;
  try {
    await readEvents(`${API}/models/operations/${encodeURIComponent(id)}/events`, (type, op) => {
      showOperation(op);
      if (type === "end") final = op;
      return final !== null;
    }, controller.signal);
  } catch (error) {
    if (error.name !== "AbortError" && !(error instanceof Unauthorized)) {
      notify(t("operations.lost", { id, error: error.message }), true);
    }
  } finally {
    following.delete(id);
  }
  if (final) finished(final);
}

function finished(op) {
  const values = { what: t(`operation.${op.operation_type}`), name: op.model_name };
  if (op.status === "completed") notify(t("notice.completed", values));
  else notify(`${t("notice.ended", { ...values, status: t(`status.${op.status}`) })} ${op.error || op.message || ""}`,
    op.status === "failed");
  reload("operations-list", "installed-list");
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
  tab: (button) => selectTab(button.dataset.runtime),
  control: (button) => control(button, notify),
  repair: (button) => repair(button, notify),
  async install(button) {
    if (await install(button, notify)) await reload("operations-list");
  },
  async activate(button) {
    const { name, runtime } = button.dataset;
    notify(t("notice.activating", { name, runtime }));
    let data;
    try {
      data = await api("POST", "/models/activate", { name, runtime });
    } catch (error) {
      if (!forceable(error) || !window.confirm(t("installed.confirm_force", { reason: error.message }))) throw error;
      data = await api("POST", "/models/activate", { name, runtime, force: true });
    }
    // The fit check's warning (CPU only, partly on the GPU) comes in the server's words.
    const [, warning] = String(data.message || "").split("; warning: ");
    notify(t("notice.activated", { name: data.active.model, runtime: data.active.provider })
      + (warning ? ` (${warning})` : ""));
    await reload("installed-list");
  },
  async remove(button) {
    const { name, provider } = button.dataset;
    if (!window.confirm(t("installed.confirm_remove", { name }))) return;
    const query = provider ? `?provider=${encodeURIComponent(provider)}` : "";
    const data = await api("DELETE", `/models/registry/${encodeURIComponent(name)}${query}`);
    notify(t("notice.removed", { name: data.operation.model_name }));
    await reload("installed-list", "operations-list");
  },
  async cancel(button) {
    await api("POST", `/models/operations/${encodeURIComponent(button.dataset.operation)}/cancel`);
    await reload("operations-list");
  },
};

// A button is held while its action runs; the runtime panels hold theirs themselves (runtimes.js).
const SELF_HELD = new Set(["control", "repair", "tab"]);

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button || button.disabled) return;
  const held = !SELF_HELD.has(button.dataset.action);
  if (held) button.disabled = true;
  try {
    await actions[button.dataset.action](button);
  } catch (error) {
    if (!(error instanceof Unauthorized)) notify(error.message, true);
  } finally {
    if (held && button.isConnected) button.disabled = false;
  }
});

document.addEventListener("keydown", (event) => {
  if (event.target.getAttribute?.("role") !== "tab") return;
  if (event.key === "ArrowRight") moveTab(1);
  else if (event.key === "ArrowLeft") moveTab(-1);
});

function showLogin(message) {
  $("#login").hidden = false;
  $("#content").hidden = true;
  $("#login-error").textContent = message;
  $("#token").focus();
}

// Everything drawn in the page's language again: the shell, the sections (rendered by the server), the live parts.
function relabel() {
  translatePage();
  loadAll();
  drawRuntimes();
  drawGauges();
  drawAlerts();
  redrawBadges();
  updateBanner();
}

function wireForms() {
  $("#login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
    $("#token").value = "";
    $("#login").hidden = true;
    $("#content").hidden = false;
    loadAll();
    startLive();
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
    if (!params.get("news_lang")) params.delete("news_lang");
    const news = $("#news-list");
    news.dataset.fragment = `/models/fragments/news?${params}`;
    load(news);
  });
  $("#language").addEventListener("change", (event) => {
    choose(event.target.value);
    relabel();
  });
}

async function main() {
  await loadCatalogs();
  $("#language").value = language();
  translatePage();
  onRuntime((record) => drawRuntimes(record));
  // A failed model call or a runtime that went down shows in the history too.
  onAlerts((type) => {
    if (type !== "alerts") reload("history-list");
  });
  wireForms();
  loadAll();
  startLive();
}

main();
