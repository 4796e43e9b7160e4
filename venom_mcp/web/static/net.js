// Talking to venom-mcp: JSON calls to the REST API and Server-Sent Events read through fetch, so that the token
// (VENOM_HTTP_TOKEN, kept in sessionStorage, never in the URL) goes along as an Authorization header.
"use strict";

export const TOKEN_KEY = "venom-mcp-token";
export const API = "/api/v1";
const RETRY_MS = 3000; // a live stream that broke is opened again after this long

export class Unauthorized extends Error {}

// A refusal by the REST API, with its HTTP status (409: a conflict, such as a model that will not fit).
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// A refusal that force=true overrides: check_fit said the model will not fit (the message gives the numbers).
export function forceable(error) {
  return error instanceof ApiError && error.status === 409 && /force=true/.test(error.message);
}

// What the page does when the server refuses the token, or becomes (un)reachable: set by dashboard.js.
export const hooks = { unauthorized: () => {}, reachable: (_error) => {} };

export function authHeaders(extra = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

export async function send(url, options = {}) {
  let response;
  try {
    response = await fetch(url, { ...options, headers: authHeaders(options.headers) });
  } catch (error) {
    if (error.name !== "AbortError") hooks.reachable(error);
    throw error;
  }
  hooks.reachable(null);
  if (response.status === 401) {
    hooks.unauthorized();
    throw new Unauthorized();
  }
  return response;
}

export async function api(method, path, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  const response = await send(API + path, options);
  const data = await response.json().catch(() => ({ success: false, error: `HTTP ${response.status}` }));
  if (!response.ok || data.success === false) throw new ApiError(data.error || `HTTP ${response.status}`, response.status);
  return data;
}

function parseEvent(block) {
  const event = { type: "message", data: "" };
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith("event:")) event.type = line.slice(6).trim();
    else if (line.startsWith("data:")) event.data += line.slice(5).trimStart();
  }
  return event;
}

// Reads one event stream until it ends, `handle(type, data)` returns true, or `signal` aborts it.
// Returns false when the server answered with an error instead of a stream.
export async function readEvents(url, handle, signal) {
  const response = await send(url, { headers: { Accept: "text/event-stream" }, signal });
  if (!response.ok) return false;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return true;
      buffer += value;
      let match;
      while ((match = /\r?\n\r?\n/.exec(buffer))) {
        const event = parseEvent(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
        if (event.data && handle(event.type, JSON.parse(event.data))) return true;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

// A stream the page keeps open: opened again after RETRY_MS when it breaks (the server restarted, the network
// dropped), until stop() or a refused token. Each stream's first event is the whole state, so nothing is missed.
export function keepStreaming(url, handle) {
  const controller = new AbortController();
  (async () => {
    while (!controller.signal.aborted) {
      try {
        await readEvents(url, handle, controller.signal);
      } catch (error) {
        if (error instanceof Unauthorized || error.name === "AbortError") return;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  })();
  return { stop: () => controller.abort() };
}
