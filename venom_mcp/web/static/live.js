// The live state: the system stream (/api/v1/system/events: the runtimes and resource usage, sent when they change)
// and the alerts stream (/api/v1/alerts/events). The gauges and the alerts banner are drawn here; the runtime
// record goes to whoever listens (runtimes.js). Nothing is polled by the page.
"use strict";

import { API, keepStreaming } from "./net.js";
import { gb, megabytes, percent, t, when } from "./i18n.js";

export const live = { usage: null, runtime: null, alerts: new Map() };
const listeners = { runtime: [], alerts: [] };
let streams = [];

const $ = (selector, root = document) => root.querySelector(selector);

export function onRuntime(listener) {
  listeners.runtime.push(listener);
}

export function onAlerts(listener) {
  listeners.alerts.push(listener);
}

// Opens both streams (again, after a sign-in); each reconnects by itself when it breaks.
export function startLive() {
  for (const stream of streams) stream.stop();
  streams = [
    keepStreaming(`${API}/system/events`, (type, data) => {
      if (type === "usage") {
        live.usage = data;
        const box = document.getElementById("resources");
        box.dataset.samples = Number(box.dataset.samples || 0) + 1; // readings received, for a glance (and tests)
        drawGauges();
      } else if (type === "runtime") {
        live.runtime = data;
        for (const listener of listeners.runtime) listener(data);
      }
    }),
    keepStreaming(`${API}/alerts/events`, (type, data) => {
      if (type === "alerts") {
        live.alerts = new Map(data.active.map((alert) => [alert.alert_id, alert]));
      } else if (type === "cleared") {
        live.alerts.delete(data.alert_id);
      } else {
        live.alerts.set(data.alert_id, data); // raised, changed
      }
      drawAlerts();
      for (const listener of listeners.alerts) listener(type, data);
    }),
  ];
}

// ---- gauges -----------------------------------------------------------------------------------------------

function gauge(name, value, detail) {
  const box = $(`[data-gauge="${name}"]`);
  const meter = $("meter", box);
  meter.value = value ?? 0;
  meter.textContent = percent(value);
  box.dataset.value = value ?? "";
  box.classList.toggle("na", value === null || value === undefined);
  // A gauge whose alert is in force is marked, so the two agree at a glance.
  box.classList.toggle("alerting", [...live.alerts.values()].some((alert) => alert.kind === name));
  $('[data-field="value"]', box).textContent = percent(value);
  $('[data-field="detail"]', box).textContent = detail;
}

export function drawGauges() {
  const usage = live.usage;
  if (!usage) return;
  gauge("cpu", usage.cpu_usage_percent, "");
  gauge("ram", usage.memory_usage_percent,
    t("resources.of", { used: gb(usage.memory_used_gb), total: gb(usage.memory_total_gb) }));
  gauge("vram", usage.vram_usage_percent, usage.vram_total_mb
    ? t("resources.of", { used: megabytes(usage.vram_usage_mb), total: megabytes(usage.vram_total_mb) })
    : t("resources.no_gpu"));
  gauge("disk", usage.disk_usage_percent,
    t("resources.quota", { used: gb(usage.disk_usage_gb), total: gb(usage.disk_limit_gb) }));
}

// What an install may still take: what MODELS_MAX_DISK_GB leaves, or less when the disk itself has less free
// (null before the first reading).
export function freeDiskGb() {
  const usage = live.usage;
  if (!usage) return null;
  const quota = Math.max(0, usage.disk_limit_gb - usage.disk_usage_gb);
  return usage.disk_free_gb == null ? quota : Math.min(quota, usage.disk_free_gb);
}

// ---- alerts -----------------------------------------------------------------------------------------------

export function drawAlerts() {
  const banner = $("#alerts-banner");
  const alerts = [...live.alerts.values()].sort((a, b) => String(b.raised_at).localeCompare(String(a.raised_at)));
  $('[data-field="title"]', banner).textContent = t("alerts.title", { count: alerts.length });
  const items = alerts.map((alert) => {
    const item = document.createElement("li");
    item.dataset.alertId = alert.alert_id;
    item.dataset.kind = alert.kind;
    item.dataset.level = alert.level;
    const level = document.createElement("span");
    level.className = `badge ${alert.level}`;
    level.textContent = t(`alerts.level.${alert.level}`);
    const kind = document.createElement("strong");
    kind.textContent = t(`alerts.kind.${alert.kind}`);
    const message = document.createElement("span");
    message.dataset.field = "message";
    message.textContent = alert.message;
    const since = document.createElement("time");
    since.dateTime = alert.raised_at;
    since.className = "muted small";
    since.textContent = t("alerts.since", { when: when(alert.raised_at) });
    item.append(level, " ", kind, " ", message, " ", since);
    return item;
  });
  $('[data-field="list"]', banner).replaceChildren(...items);
  banner.hidden = alerts.length === 0;
  banner.classList.toggle("critical", alerts.some((alert) => alert.level === "critical"));
  drawGauges(); // the gauges mark the alerts in force
}
