// The interface language (Polish, English, German): the catalogs the server renders its fragments with
// (/models/static/i18n.json), the choice kept in localStorage, and numbers, sizes and times in its format.
"use strict";

export const LANG_KEY = "venom-mcp-lang";
const DEFAULT = "en";
let catalogs = { [DEFAULT]: {} };
let lang = DEFAULT;

// Without the catalogs (the server went away meanwhile) the page keeps the English its shell was rendered in.
export async function loadCatalogs() {
  try {
    const response = await fetch("/models/static/i18n.json");
    if (response.ok) catalogs = await response.json();
  } catch {
    catalogs = { [DEFAULT]: {} };
  }
  lang = chosen();
  document.documentElement.lang = lang;
}

function chosen() {
  const kept = localStorage.getItem(LANG_KEY);
  if (kept && catalogs[kept]) return kept;
  const browser = (navigator.language || "").slice(0, 2).toLowerCase();
  return catalogs[browser] ? browser : DEFAULT;
}

export const language = () => lang;
export const languages = () => Object.keys(catalogs);

// A choice made on the page is kept for the next visits; nothing is stored until the user chooses.
export function choose(code) {
  if (!catalogs[code]) return;
  lang = code;
  localStorage.setItem(LANG_KEY, code);
  document.documentElement.lang = code;
}

// The text of `key` in the current language (English where it has none), with {name} placeholders filled.
export function t(key, values = {}) {
  const text = catalogs[lang]?.[key] ?? catalogs[DEFAULT]?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

// Elements of the page shell name their text by key: data-i18n (the text), data-i18n-<attribute>.
export function translatePage(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const attribute of ["placeholder", "aria-label", "title"]) {
    const data = `data-i18n-${attribute}`;
    for (const element of root.querySelectorAll(`[${data}]`)) {
      element.setAttribute(attribute, t(element.getAttribute(data)));
    }
  }
  document.title = t("page.title");
}

export function number(value, digits = 1) {
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(value);
}

export function gb(value) {
  if (value === null || value === undefined) return "—";
  return value < 1 ? `${number(value * 1000, 0)} MB` : `${number(value, 1)} GB`;
}

export function megabytes(value) {
  return value === null || value === undefined ? "—" : gb(value / 1000);
}

export function percent(value) {
  return value === null || value === undefined ? "—" : `${number(value, 0)} %`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.floor(seconds);
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${s} s`;
}

export function when(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : moment.toLocaleString(lang);
}

export function size(bytes) {
  const units = [[1 << 30, "GiB"], [1 << 20, "MiB"], [1 << 10, "KiB"]];
  for (const [limit, unit] of units) if (bytes >= limit) return `${number(bytes / limit, 1)} ${unit}`;
  return `${bytes} B`;
}
