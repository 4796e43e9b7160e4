// One panel per local runtime (tabs), drawn from the runtime_status record the system stream sends whenever it
// changes. Panels are drawn generically: the known fields as facts, any other field a server reports (a cluster's
// `replicas` and `nodes`, say) as a table or a list, so a new kind of runtime shows without changes here.
// Panels are built once and updated in place, so a change repaints only what changed.
"use strict";

import { api } from "./net.js";
import { duration, megabytes, t } from "./i18n.js";

const $ = (selector, root = document) => root.querySelector(selector);
const KNOWN = new Set(["name", "status", "endpoint", "pid", "model", "served_model_name", "memory_mb",
  "uptime_seconds", "managed_by", "command", "error", "tuning", "notes"]);
const pending = new Map(); // runtime -> the action this page asked for and is waiting on
let record = null;
let selected = null;

function element(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

// A field's label: its catalog text, else the field's own name.
function label(key) {
  if (key === key.toUpperCase()) return key; // an environment variable (Ollama's server settings)
  const id = `field.${key}`;
  const text = t(id);
  return text === id ? key.replaceAll("_", " ") : text;
}

function show(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return t(value ? "value.yes" : "value.no");
  if (Array.isArray(value)) return value.map(show).join(", ");
  if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${label(k)}: ${show(v)}`).join("; ");
  return String(value);
}

// ---- state of one runtime -------------------------------------------------------------------------------

function server(name) {
  return record?.servers.find((s) => s.name === name) ?? null;
}

// Why a runtime's buttons are held, or null: an action this page sent, an activation switching it, or an install
// or activation (an operation) running for it.
function busy(s) {
  if (pending.has(s.name)) return t(`runtimes.pending.${pending.get(s.name)}`);
  if (s.status === "switching") return t("runtimes.switching", { detail: s.error || "" });
  const op = (record?.operations ?? []).find((o) => o.runtime === s.name);
  if (op) {
    return t("runtimes.operation", {
      what: t(`operation.${op.operation_type}`), name: op.model_name, progress: Math.floor(op.progress),
    });
  }
  return null;
}

// The server answers under another name than the configured model (vLLM's --served-model-name, llama.cpp's
// --model_alias): clients asking for the configured one get 404. Ollama serves any installed model by name.
export function aliasMismatch(s) {
  if (s.name === "ollama" || !s.model || !s.served_model_name) return false;
  return !s.served_model_name.split(", ").includes(s.model);
}

// ---- drawing ----------------------------------------------------------------------------------------------

export function drawRuntimes(data = record) {
  if (!data) return;
  record = data;
  drawActive(data.active);
  const tabs = $("#runtimes .tabs");
  const panels = $("#runtime-panels");
  const names = data.servers.map((s) => s.name);
  if (!names.includes(selected)) selected = names[0] ?? null;
  if (!names.length) {
    tabs.replaceChildren();
    panels.replaceChildren(element("p", { class: "muted" }, t("runtimes.none")));
    return;
  }
  for (const node of [...tabs.children, ...panels.children]) {
    if (!names.includes(node.dataset.runtime)) node.remove();
  }
  for (const s of data.servers) {
    const tab = $(`[role="tab"][data-runtime="${CSS.escape(s.name)}"]`, tabs) ?? tabs.appendChild(buildTab(s.name));
    drawTab(tab, s);
    const panel = $(`[role="tabpanel"][data-runtime="${CSS.escape(s.name)}"]`, panels)
      ?? panels.appendChild(buildPanel(s.name));
    drawPanel(panel, s);
  }
}

function drawActive(active) {
  const box = $("#runtime");
  const key = JSON.stringify([active, document.documentElement.lang]);
  if (box.dataset.shown === key) return;
  box.dataset.shown = key;
  const parts = [element("span", { class: "label" }, t("runtime.active"))];
  if (active.provider) {
    parts.push(element("strong", { "data-field": "active-provider" }, active.provider), " ",
      element("span", { "data-field": "active-model" }, active.model || t("runtime.no_model")), " ",
      element("span", { class: `badge ${active.status}`, "data-field": "active-status" }, t(`status.${active.status}`)));
    if (active.endpoint) parts.push(" ", element("span", { class: "muted small" }, active.endpoint));
  } else {
    parts.push(element("span", { "data-field": "active-model" }, t("runtime.none")));
  }
  const line = element("div", { class: "active-runtime", "data-status": active.status });
  line.append(...parts);
  const nodes = [line];
  if (active.provider && active.message) nodes.push(element("div", { class: "muted small", "data-field": "active-message" }, active.message));
  box.replaceChildren(...nodes);
}

function buildTab(name) {
  const tab = element("button", {
    type: "button", role: "tab", id: `runtime-tab-${name}`, "aria-controls": `runtime-panel-${name}`,
    "data-runtime": name, "data-action": "tab",
  });
  tab.append(element("span", { "data-field": "name" }, name), " ", element("span", { "data-field": "status" }));
  return tab;
}

function drawTab(tab, s) {
  const on = s.name === selected;
  tab.setAttribute("aria-selected", String(on));
  tab.tabIndex = on ? 0 : -1;
  const badge = $('[data-field="status"]', tab);
  badge.className = `badge ${s.status}`;
  badge.textContent = t(`status.${s.status}`);
}

function buildPanel(name) {
  const panel = element("div", {
    role: "tabpanel", id: `runtime-panel-${name}`, "aria-labelledby": `runtime-tab-${name}`,
    "data-runtime": name, class: "runtime-panel",
  });
  const head = element("div", { class: "panel-head" });
  head.append(element("h3", {}, name), element("span", { "data-field": "status" }),
    element("span", { class: "busy", "data-field": "busy", role: "status" }));
  const alias = element("div", { class: "alias-warning", "data-field": "alias", role: "alert" });
  alias.append(element("span", { "data-field": "alias-text" }), " ",
    element("button", { type: "button", "data-action": "repair", "data-server": name }));
  const controls = element("div", { class: "controls" });
  for (const op of ["start", "stop", "restart"]) {
    controls.append(element("button", { type: "button", "data-action": "control", "data-server": name, "data-op": op }));
  }
  panel.append(head, alias, element("dl", { class: "facts", "data-field": "facts" }), controls,
    element("p", { class: "error", "data-field": "error" }), element("ul", { class: "notes", "data-field": "notes" }),
    element("div", { class: "extra", "data-field": "extra" }));
  return panel;
}

function drawPanel(panel, s) {
  const reason = busy(s);
  panel.hidden = s.name !== selected;
  panel.dataset.status = s.status;
  panel.dataset.busy = reason ? "true" : "false";
  const status = $('.panel-head [data-field="status"]', panel);
  status.className = `badge ${s.status}`;
  status.textContent = t(`status.${s.status}`);
  $('[data-field="busy"]', panel).textContent = reason ?? "";

  const alias = $('[data-field="alias"]', panel);
  alias.hidden = !aliasMismatch(s);
  $('[data-field="alias-text"]', alias).textContent = t("runtimes.alias", { served: s.served_model_name, model: s.model });
  const repair = $("button", alias);
  repair.textContent = t("runtimes.repair", { model: s.model });
  repair.setAttribute("aria-label", t("runtimes.repair_named", { name: s.name, model: s.model }));
  repair.disabled = Boolean(reason);

  drawFacts($('[data-field="facts"]', panel), [
    ["model", s.model], ["served_model_name", s.served_model_name], ["endpoint", s.endpoint],
    ["managed_by", t(`managed.${s.managed_by}`)], ["pid", s.pid], ["memory_mb", megabytes(s.memory_mb)],
    ["uptime_seconds", duration(s.uptime_seconds)], ...(s.command ? [["command", s.command]] : []),
    ...Object.entries(s).filter(([k, v]) => !KNOWN.has(k) && !isTable(v) && v !== null),
  ]);
  const disabled = {
    start: ["online", "degraded", "switching"].includes(s.status),
    stop: s.status === "offline" && s.managed_by === "none",
    restart: false,
  };
  for (const button of panel.querySelectorAll('[data-action="control"]')) {
    const op = button.dataset.op;
    button.textContent = t(`runtimes.${op}`);
    button.setAttribute("aria-label", t(`runtimes.${op}_named`, { name: s.name }));
    button.disabled = Boolean(reason) || disabled[op];
    button.title = reason ?? "";
  }
  $('[data-field="error"]', panel).textContent = s.error ?? "";
  $('[data-field="notes"]', panel).replaceChildren(...(s.notes ?? []).map((note) => element("li", {}, note)));
  drawExtra($('[data-field="extra"]', panel), s);
}

// Facts as <dt>/<dd> pairs, updated in place (a pair per field, kept while the field is there).
function drawFacts(list, rows) {
  const keys = rows.map(([key]) => key);
  for (const node of [...list.children]) if (!keys.includes(node.dataset.key)) node.remove();
  for (const [key, value] of rows) {
    let term = $(`dt[data-key="${CSS.escape(key)}"]`, list);
    if (!term) {
      term = element("dt", { "data-key": key });
      list.append(term, element("dd", { "data-key": key, "data-field": key }));
    }
    term.textContent = label(key);
    term.nextElementSibling.textContent = show(value);
  }
}

function isTable(value) {
  return Array.isArray(value) && value.length > 0 && value.every((item) => item && typeof item === "object");
}

// The fields that are lists of records (a cluster's replicas and nodes) as tables, and Ollama's tuning; redrawn
// only when they change.
function drawExtra(box, s) {
  const key = JSON.stringify([s.tuning, Object.entries(s).filter(([k, v]) => !KNOWN.has(k) && isTable(v)),
    document.documentElement.lang]);
  if (box.dataset.shown === key) return;
  box.dataset.shown = key;
  const parts = [];
  for (const [field, rows] of Object.entries(s)) {
    if (KNOWN.has(field) || !isTable(rows)) continue;
    const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    const table = element("table", { "data-field": field });
    table.append(element("caption", {}, `${label(field)} (${rows.length})`));
    const head = element("tr");
    head.append(...columns.map((column) => element("th", { scope: "col" }, label(column))));
    const body = element("tbody");
    for (const row of rows) {
      const line = element("tr");
      line.append(...columns.map((column) => element("td", {}, show(row[column]))));
      body.append(line);
    }
    table.append(element("thead"), body);
    table.tHead.append(head);
    parts.push(table);
  }
  if (s.tuning) {
    const details = element("details", { "data-field": "tuning" });
    details.append(element("summary", {}, t("runtimes.tuning", { profile: s.tuning.profile })));
    const facts = element("dl", { class: "facts" });
    drawFacts(facts, [["num_ctx", s.tuning.num_ctx], ["keep_alive", s.tuning.keep_alive],
      ...Object.entries(s.tuning.server_settings)]);
    details.append(facts, element("p", { class: "muted small" }, s.tuning.note));
    parts.push(details);
  }
  box.replaceChildren(...parts);
}

// ---- actions ----------------------------------------------------------------------------------------------

export function selectTab(name) {
  selected = name;
  drawRuntimes();
  $(`[role="tab"][data-runtime="${CSS.escape(name)}"]`)?.focus();
}

export function moveTab(step) {
  const names = record?.servers.map((s) => s.name) ?? [];
  if (!names.length) return;
  selectTab(names[(names.indexOf(selected) + step + names.length) % names.length]);
}

async function run(name, op, force = false) {
  return api("POST", `/system/llm-servers/${encodeURIComponent(name)}/${op}`, { force });
}

// Start, stop or restart; a process venom-mcp did not start is stopped only after the user says so.
export async function control(button, notify) {
  const { server: name, op } = button.dataset;
  const s = server(name);
  let force = false;
  if (op === "stop" && s?.managed_by === "external") {
    if (!window.confirm(t("runtimes.confirm_stop_external", { name, pid: s.pid ?? "?", command: s.command ?? "?" }))) {
      return;
    }
    force = true;
  }
  pending.set(name, op);
  drawRuntimes();
  try {
    const data = await run(name, op, force);
    notify(t("runtimes.done", { name, status: t(`status.${data.server.status}`) }), data.server.status === "degraded");
  } finally {
    pending.delete(name);
    drawRuntimes();
  }
}

// The alias warning's repair: restart with the configured model, whose name the start command serves it under.
// A server venom-mcp did not start is stopped first (after the user says so), then venom-mcp starts its own.
export async function repair(button, notify) {
  const name = button.dataset.server;
  const s = server(name);
  if (!s) return;
  const external = s.managed_by === "external";
  if (external && !window.confirm(t("runtimes.confirm_repair_external", {
    name, pid: s.pid ?? "?", command: s.command ?? "?", model: s.model,
  }))) return;
  pending.set(name, "restart");
  drawRuntimes();
  try {
    if (external) await run(name, "stop", true);
    const data = await run(name, external ? "start" : "restart");
    notify(t("runtimes.done", { name, status: t(`status.${data.server.status}`) }), data.server.status === "degraded");
  } finally {
    pending.delete(name);
    drawRuntimes();
  }
}
