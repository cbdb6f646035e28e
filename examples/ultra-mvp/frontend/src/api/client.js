// The ONE module that talks to the network. Access tokens live in memory only; the refresh
// token is an HttpOnly cookie set by the API and used to restore the session after a reload.
import { API_BASE_URL } from "../config.js";

export class ApiError extends Error {
  constructor(status, detail, retryAfter = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

const session = { accessToken: null };
let refreshing = null;

async function readDetail(response) {
  try {
    const data = await response.json();
    if (typeof data.detail === "string") return data.detail;
    if (Array.isArray(data.detail) && data.detail.length) {
      return data.detail.map((e) => `${(e.loc || []).at(-1)}: ${e.msg}`).join("; ");
    }
  } catch {
    /* not JSON */
  }
  return `Request failed (HTTP ${response.status})`;
}

async function request(path, { method = "GET", json, form, auth = true, retry = true, raw = false, signal } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = new URLSearchParams(form);
  }
  if (auth && session.accessToken) headers.Authorization = `Bearer ${session.accessToken}`;

  let response;
  try {
    response = await fetch(API_BASE_URL + path, { method, headers, body, credentials: "include", signal });
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "Cannot reach the server. Check your connection and try again.");
  }
  if (response.status === 401 && auth && retry && (await api.refresh())) {
    return request(path, { method, json, form, auth, retry: false, raw, signal });
  }
  if (!response.ok) {
    throw new ApiError(response.status, await readDetail(response), response.headers.get("Retry-After"));
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    const events = buffer.split("\n\n");
    buffer = events.pop();
    for (const event of events) {
      const lines = event.split("\n");
      const isError = lines.includes("event: error");
      for (const line of lines) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return;
        yield { isError, payload: JSON.parse(data) };
      }
    }
  }
}

export const api = {
  isAuthenticated: () => Boolean(session.accessToken),

  register: (email, password) =>
    request("/auth/register", { method: "POST", json: { email, password }, auth: false }),

  async login(email, password) {
    const tokens = await request("/auth/token", {
      method: "POST",
      form: { username: email, password },
      auth: false,
    });
    session.accessToken = tokens.access_token;
    return tokens;
  },

  refresh() {
    refreshing ??= request("/auth/refresh", { method: "POST", json: {}, auth: false })
      .then((tokens) => {
        session.accessToken = tokens.access_token;
        return true;
      })
      .catch(() => {
        session.accessToken = null;
        return false;
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  },

  async logout() {
    try {
      await request("/auth/logout", { method: "POST", retry: false });
    } finally {
      session.accessToken = null;
    }
  },

  me: () => request("/users/me"),
  listNotes: () => request("/notes"),
  createNote: (title, body) => request("/notes", { method: "POST", json: { title, body } }),
  deleteNote: (id) => request(`/notes/${encodeURIComponent(id)}`, { method: "DELETE" }),

  async chatStream(messages, onDelta, signal) {
    const response = await request("/llm/chat", {
      method: "POST",
      json: { messages, stream: true },
      raw: true,
      signal,
    });
    const mock = response.headers.get("X-LLM-Mock") === "true";
    for await (const { isError, payload } of readEvents(response)) {
      if (isError) throw new ApiError(502, payload.detail || "LLM provider unavailable");
      if (payload.delta) onDelta(payload.delta);
    }
    return { mock };
  },
};

export function friendlyError(err) {
  if (!err) return "Something went wrong.";
  if (err.status === 429) {
    return `Too many requests.${err.retryAfter ? ` Try again in ${err.retryAfter} s.` : ""}`;
  }
  if (err.status === 502) return "The assistant is unavailable right now. Please try again later.";
  if (err.status === 413) return err.detail || "That message is too long.";
  if (err.status >= 500) return "The server had a problem. Please try again.";
  return err.detail || err.message || "Something went wrong.";
}
