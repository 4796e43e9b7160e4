// Catalog rows: the fit verdict of each model (POST /api/v1/models/fit, a few at a time, remembered for the page's
// life), and installs, which ask first when the download is over LARGE_GB, naming its size and the free disk.
"use strict";

import { api, forceable } from "./net.js";
import { gb, number, t } from "./i18n.js";
import { freeDiskGb } from "./live.js";

export const LARGE_GB = 20;
const AT_ONCE = 2; // fit estimates in flight; each may read a GGUF header from the Hub
const fits = new Map(); // "provider|runtime|name" -> Promise of the Fit, or of {error}
const queue = [];
let running = 0;

const $ = (selector, root = document) => root.querySelector(selector);

function next() {
  while (running < AT_ONCE && queue.length) {
    const job = queue.shift();
    running += 1;
    job().finally(() => {
      running -= 1;
      next();
    });
  }
}

function fitOf(name, provider, runtime) {
  const key = `${provider}|${runtime}|${name}`;
  if (!fits.has(key)) {
    fits.set(key, new Promise((resolve) => {
      queue.push(() => api("POST", "/models/fit", { name, provider, ...(runtime ? { runtime } : {}) })
        .then(resolve, (error) => resolve({ error: error.message })));
      next();
    }));
  }
  return fits.get(key);
}

// The name an install takes for a row: the model, with the chosen quantization where the row offers some.
// A quantization is a llama.cpp model: the server picks the runtime for it (runtime null).
function chosen(row) {
  const option = $('select[data-field="quantization"]', row)?.selectedOptions[0];
  const quant = option?.value;
  const size = option ? option.dataset.sizeGb : $('button[data-action="install"]', row)?.dataset.sizeGb;
  return {
    name: quant ? `${row.dataset.model}:${quant}` : row.dataset.model,
    runtime: quant ? null : row.dataset.runtime,
    sizeGb: size ? Number(size) : null,
  };
}

function describe(fit) {
  const lines = [t("fit.needs", {
    required: gb(fit.required_gb), weights: gb(fit.weights_gb), kv: gb(fit.kv_cache_gb), overhead: gb(fit.overhead_gb),
    context: fit.context_length ?? "—",
  }), t("fit.free", { ram: gb(fit.ram_free_gb), vram: gb(fit.vram_free_gb) })];
  if (fit.verdict === "gpu_partial") lines.push(t("fit.layers", { layers: fit.gpu_layers ?? "—" }));
  return [...lines, ...(fit.notes ?? []), ...(fit.suggestions ?? [])].join("\n");
}

async function badge(row) {
  const cell = $('[data-field="fit"]', row);
  if (!cell) return;
  const { name, runtime } = chosen(row);
  cell.dataset.name = name;
  const fit = await fitOf(name, row.dataset.provider, runtime);
  if (cell.dataset.name !== name || !cell.isConnected) return; // another quantization was chosen meanwhile
  cell.dataset.verdict = fit.verdict ?? "unknown";
  cell.className = `fit badge ${fit.verdict ?? "unknown"}`;
  cell.textContent = t(`fit.${fit.verdict ?? "unknown"}`);
  cell.title = fit.error ? t("fit.error", { error: fit.error }) : describe(fit);
  if (fit.required_gb !== undefined) cell.dataset.requiredGb = number(fit.required_gb, 2);
}

// Each catalog row of `root` gets its badge; a change of quantization asks again for that one.
export function decorateCatalog(root) {
  for (const row of root.querySelectorAll("tr[data-model][data-runtime]")) {
    if (!$('[data-field="fit"]', row)) continue;
    badge(row);
    const select = $('select[data-field="quantization"]', row);
    if (select && !select.dataset.wired) {
      select.dataset.wired = "true";
      select.addEventListener("change", () => badge(row));
    }
  }
}

// Redraw the badges already known in the current language (after a language change).
export function redrawBadges() {
  for (const row of document.querySelectorAll("tr[data-model][data-runtime]")) {
    if ($('[data-field="fit"]', row)?.dataset.verdict) badge(row);
  }
}

export async function install(button, notify) {
  const row = button.closest("tr");
  const { name, sizeGb } = row ? chosen(row) : { name: button.dataset.name, sizeGb: null };
  if (sizeGb !== null && sizeGb > LARGE_GB) {
    const free = freeDiskGb();
    const question = t("install.confirm_large", {
      name, size: gb(sizeGb), free: free === null ? t("install.free_unknown") : gb(free), limit: LARGE_GB,
    });
    if (!window.confirm(question)) return null;
  }
  const body = { name, provider: button.dataset.provider };
  let data;
  try {
    data = await api("POST", "/models/registry/install", body);
  } catch (error) {
    // It will not fit: the server's numbers, and the user's choice to install it all the same.
    if (!forceable(error) || !window.confirm(t("install.confirm_force", { reason: error.message }))) throw error;
    data = await api("POST", "/models/registry/install", { ...body, force: true });
  }
  notify(t("notice.install_started", { name: data.operation.model_name }));
  return data;
}
