/* ultra-mvp frontend — the shipped build of src/ (plain JavaScript, no build step needed). */
(function () {
  "use strict";

  /* ---------------------------------------------------------------- config (src/config.js) */
  var runtime = window.ULTRA_CONFIG || {};
  var API_BASE_URL = String(runtime.apiBaseUrl || "").replace(/\/+$/, "");

  /* ------------------------------------------------------------ api client (src/api/client.js)
   * The ONE module that talks to the network. Access tokens live in memory only; the refresh
   * token is an HttpOnly cookie set by the API, used to restore the session after a reload. */
  function ApiError(status, detail, retryAfter) {
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
    this.message = detail;
  }
  ApiError.prototype = Object.create(Error.prototype);

  var session = { accessToken: null };
  var refreshing = null;

  async function readDetail(response) {
    try {
      var data = await response.json();
      if (typeof data.detail === "string") return data.detail;
      if (Array.isArray(data.detail) && data.detail.length) {
        return data.detail
          .map(function (e) { return (e.loc || []).slice(-1)[0] + ": " + e.msg; })
          .join("; ");
      }
    } catch (ignored) { /* not JSON */ }
    return "Request failed (HTTP " + response.status + ")";
  }

  async function request(path, options) {
    var opts = options || {};
    var headers = { Accept: "application/json" };
    var body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    } else if (opts.form) {
      body = new URLSearchParams(opts.form);
    }
    if (opts.auth !== false && session.accessToken) {
      headers.Authorization = "Bearer " + session.accessToken;
    }
    var response;
    try {
      response = await fetch(API_BASE_URL + path, {
        method: opts.method || "GET",
        headers: headers,
        body: body,
        credentials: "include",
        signal: opts.signal,
      });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError(0, "Cannot reach the server. Check your connection and try again.");
    }
    if (response.status === 401 && opts.auth !== false && opts.retry !== false) {
      if (await api.refresh()) {
        return request(path, Object.assign({}, opts, { retry: false }));
      }
    }
    if (!response.ok) {
      var detail = await readDetail(response);
      throw new ApiError(response.status, detail, response.headers.get("Retry-After"));
    }
    if (opts.raw) return response;
    if (response.status === 204) return null;
    return response.json();
  }

  var api = {
    isAuthenticated: function () { return Boolean(session.accessToken); },
    register: function (email, password) {
      return request("/auth/register", { method: "POST", json: { email: email, password: password }, auth: false });
    },
    login: async function (email, password) {
      var tokens = await request("/auth/token", {
        method: "POST", form: { username: email, password: password }, auth: false,
      });
      session.accessToken = tokens.access_token;
      return tokens;
    },
    refresh: function () {
      if (!refreshing) {
        refreshing = request("/auth/refresh", { method: "POST", json: {}, auth: false })
          .then(function (tokens) { session.accessToken = tokens.access_token; return true; })
          .catch(function () { session.accessToken = null; return false; })
          .finally(function () { refreshing = null; });
      }
      return refreshing;
    },
    logout: async function () {
      try {
        await request("/auth/logout", { method: "POST", retry: false });
      } finally {
        session.accessToken = null;
      }
    },
    me: function () { return request("/users/me"); },
    listNotes: function () { return request("/notes"); },
    createNote: function (title, text) {
      return request("/notes", { method: "POST", json: { title: title, body: text } });
    },
    deleteNote: function (id) {
      return request("/notes/" + encodeURIComponent(id), { method: "DELETE" });
    },
    chatStream: async function (messages, onDelta, signal) {
      var response = await request("/llm/chat", {
        method: "POST", json: { messages: messages, stream: true }, raw: true, signal: signal,
      });
      var mock = response.headers.get("X-LLM-Mock") === "true";
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        var events = buffer.split("\n\n");
        buffer = events.pop();
        for (var i = 0; i < events.length; i++) {
          var lines = events[i].split("\n");
          var isError = lines.indexOf("event: error") !== -1;
          for (var j = 0; j < lines.length; j++) {
            if (lines[j].indexOf("data: ") !== 0) continue;
            var data = lines[j].slice(6);
            if (data === "[DONE]") return { mock: mock };
            var parsed = JSON.parse(data);
            if (isError) throw new ApiError(502, parsed.detail || "LLM provider unavailable");
            if (parsed.delta) onDelta(parsed.delta);
          }
        }
      }
      return { mock: mock };
    },
  };

  /* --------------------------------------------------------------------------- DOM helpers */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    var props = attrs || {};
    Object.keys(props).forEach(function (key) {
      var value = props[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "className") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key.slice(0, 2) === "on") el.addEventListener(key.slice(2).toLowerCase(), value);
      else el.setAttribute(key, value === true ? "" : value);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return el;
  }

  function friendlyError(err) {
    if (!err) return "Something went wrong.";
    if (err.status === 429) {
      return "Too many requests." + (err.retryAfter ? " Try again in " + err.retryAfter + " s." : "");
    }
    if (err.status === 502) return "The assistant is unavailable right now. Please try again later.";
    if (err.status === 413) return err.detail || "That message is too long.";
    if (err.status >= 500) return "The server had a problem. Please try again.";
    return err.detail || err.message || "Something went wrong.";
  }

  function errorBox() {
    var box = h("p", { className: "alert", role: "alert", hidden: true, "data-testid": "error" });
    return {
      el: box,
      show: function (err) { box.textContent = friendlyError(err); box.hidden = false; },
      clear: function () { box.textContent = ""; box.hidden = true; },
    };
  }

  function setBusy(button, busy, busyLabel, idleLabel) {
    button.disabled = busy;
    button.setAttribute("aria-busy", busy ? "true" : "false");
    button.textContent = busy ? busyLabel : idleLabel;
  }

  /* -------------------------------------------------- ErrorBoundary (components/ErrorBoundary) */
  function renderCrash() {
    var root = document.getElementById("root");
    root.replaceChildren(
      h("section", { className: "card crash", role: "alert", "data-testid": "error-boundary" },
        h("h1", { text: "Something went wrong" }),
        h("p", { text: "An unexpected error stopped this page. Reloading usually helps." }),
        h("button", { type: "button", onclick: function () { window.location.reload(); } }, "Reload"))
    );
  }
  window.addEventListener("error", function () { renderCrash(); });
  window.addEventListener("unhandledrejection", function (event) {
    if (event.reason && event.reason.name === "ApiError") return;
    renderCrash();
  });

  /* ------------------------------------------------------------------- state and navigation */
  var state = { user: null, booting: true };

  function navigate(path) {
    if (window.location.pathname !== path) window.history.pushState({}, "", path);
    render();
  }
  window.addEventListener("popstate", render);

  function link(path, label) {
    return h("a", {
      href: path,
      onclick: function (event) { event.preventDefault(); navigate(path); },
      "aria-current": window.location.pathname === path ? "page" : null,
    }, label);
  }

  /* ------------------------------------------------------------- NavBar (components/NavBar) */
  function NavBar() {
    var right;
    if (state.user) {
      var logoutButton = h("button", { type: "button", className: "link-button", "data-testid": "logout" }, "Log out");
      logoutButton.addEventListener("click", async function () {
        setBusy(logoutButton, true, "Logging out…", "Log out");
        try { await api.logout(); } catch (ignored) { /* the session is gone locally anyway */ }
        state.user = null;
        navigate("/login");
      });
      right = h("div", { className: "nav-user" },
        h("span", { className: "email", "data-testid": "user-email", text: state.user.email }), logoutButton);
    } else {
      right = h("div", { className: "nav-user" }, link("/login", "Log in"));
    }
    return h("header", { className: "topbar" },
      h("a", { className: "brand", href: "/", onclick: function (e) { e.preventDefault(); navigate("/"); } }, "ultra-mvp"),
      state.user ? h("nav", { "aria-label": "Main" }, link("/chat", "Chat"), link("/notes", "Notes")) : null,
      right);
  }

  /* ------------------------------------------------------- LoginForm (components/LoginForm) */
  function LoginView() {
    var mode = "login";
    var errors = errorBox();
    var notice = h("p", { className: "notice", role: "status", hidden: true });
    var email = h("input", { id: "email", name: "email", type: "email", autocomplete: "username", required: true });
    var password = h("input", {
      id: "password", name: "password", type: "password", autocomplete: "current-password",
      required: true, minlength: "12",
    });
    var submit = h("button", { type: "submit", "data-testid": "submit" }, "Log in");
    var title = h("h1", { text: "Log in" });
    var toggle = h("button", { type: "button", className: "link-button" }, "Create an account");

    function applyMode() {
      title.textContent = mode === "login" ? "Log in" : "Create an account";
      submit.textContent = mode === "login" ? "Log in" : "Create account";
      toggle.textContent = mode === "login" ? "Create an account" : "I already have an account";
      password.setAttribute("autocomplete", mode === "login" ? "current-password" : "new-password");
      errors.clear();
    }
    toggle.addEventListener("click", function () { mode = mode === "login" ? "register" : "login"; applyMode(); });

    var form = h("form", { className: "card form", "data-testid": "login-form", novalidate: true },
      title,
      h("label", { for: "email" }, "Email"), email,
      h("label", { for: "password" }, "Password"), password,
      h("p", { className: "hint", text: "At least 12 characters." }),
      errors.el, notice, submit, toggle);

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      errors.clear();
      notice.hidden = true;
      setBusy(submit, true, mode === "login" ? "Signing in…" : "Creating…", "");
      try {
        if (mode === "register") {
          await api.register(email.value.trim(), password.value);
          notice.textContent = "Account created. You can log in now.";
          notice.hidden = false;
          mode = "login";
          applyMode();
          return;
        }
        await api.login(email.value.trim(), password.value);
        state.user = await api.me();
        navigate("/chat");
      } catch (err) {
        errors.show(err);
      } finally {
        setBusy(submit, false, "", mode === "login" ? "Log in" : "Create account");
      }
    });
    return h("main", { className: "container narrow" }, form);
  }

  /* ------------------------------------------------------------------ Chat (components/Chat) */
  function ChatView() {
    var history = [];
    var errors = errorBox();
    var log = h("ol", { className: "chat-log", "aria-live": "polite", "data-testid": "chat-log" });
    var empty = h("p", { className: "empty", text: "Ask anything to start the conversation." });
    var mockBadge = h("span", { className: "badge", hidden: true, text: "mock mode" });
    var input = h("textarea", { id: "chat-input", name: "message", rows: "3", required: true, maxlength: "4000" });
    var send = h("button", { type: "submit", "data-testid": "send" }, "Send");
    var form = h("form", { className: "chat-form" },
      h("label", { for: "chat-input", className: "visually-hidden" }, "Message"), input, send);

    function addMessage(role, text) {
      var body = h("div", { className: "bubble", text: text });
      log.appendChild(h("li", { className: "message " + role, "data-role": role }, body));
      empty.hidden = true;
      return body;
    }

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      errors.clear();
      history.push({ role: "user", content: text });
      addMessage("user", text);
      input.value = "";
      setBusy(send, true, "Thinking…", "Send");
      var bubble = addMessage("assistant", "");
      bubble.classList.add("pending");
      var reply = "";
      try {
        var result = await api.chatStream(history, function (delta) {
          reply += delta;
          bubble.textContent = reply;
        });
        mockBadge.hidden = !result.mock;
        history.push({ role: "assistant", content: reply });
      } catch (err) {
        history.pop();
        bubble.parentNode.remove();
        errors.show(err);
      } finally {
        bubble.classList.remove("pending");
        setBusy(send, false, "", "Send");
        input.focus();
      }
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });

    return h("main", { className: "container" },
      h("section", { className: "card chat", "data-testid": "chat" },
        h("div", { className: "card-title" }, h("h1", { text: "Chat" }), mockBadge),
        empty, log, errors.el, form));
  }

  /* ---------------------------------------------------------------- Notes (components/Notes) */
  function NotesView() {
    var errors = errorBox();
    var list = h("ul", { className: "notes", "data-testid": "notes" });
    var status = h("p", { className: "empty", role: "status", text: "Loading notes…" });
    var title = h("input", { id: "note-title", name: "title", required: true, maxlength: "200" });
    var text = h("textarea", { id: "note-body", name: "body", rows: "3", maxlength: "10000" });
    var save = h("button", { type: "submit" }, "Save note");
    var form = h("form", { className: "note-form" },
      h("label", { for: "note-title" }, "Title"), title,
      h("label", { for: "note-body" }, "Note"), text, save);

    function renderNotes(notes) {
      list.replaceChildren();
      status.hidden = notes.length > 0;
      status.textContent = "No notes yet.";
      notes.forEach(function (note) {
        var remove = h("button", { type: "button", className: "link-button danger" }, "Delete");
        remove.addEventListener("click", async function () {
          setBusy(remove, true, "Deleting…", "Delete");
          try { await api.deleteNote(note.id); await load(); }
          catch (err) { errors.show(err); setBusy(remove, false, "", "Delete"); }
        });
        list.appendChild(h("li", { className: "note" },
          h("div", { className: "note-head" }, h("h2", { text: note.title }), remove),
          h("p", { text: note.body }),
          h("time", { datetime: note.created_at, text: new Date(note.created_at).toLocaleString() })));
      });
    }

    async function load() {
      try { renderNotes(await api.listNotes()); }
      catch (err) { status.textContent = "Could not load notes."; errors.show(err); }
    }

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      errors.clear();
      setBusy(save, true, "Saving…", "Save note");
      try {
        await api.createNote(title.value.trim(), text.value);
        title.value = "";
        text.value = "";
        await load();
      } catch (err) {
        errors.show(err);
      } finally {
        setBusy(save, false, "", "Save note");
      }
    });
    load();
    return h("main", { className: "container" },
      h("section", { className: "card" }, h("h1", { text: "Notes" }), form, errors.el, status, list));
  }

  function NotFoundView() {
    return h("main", { className: "container narrow" },
      h("section", { className: "card" }, h("h1", { text: "Page not found" }), link("/", "Go home")));
  }

  function LoadingView() {
    return h("main", { className: "container narrow" },
      h("p", { className: "loading", role: "status", "aria-busy": "true", text: "Loading…" }));
  }

  /* --------------------------------------------------------------------------- App (App.jsx) */
  function render() {
    var root = document.getElementById("root");
    var path = window.location.pathname;
    if (state.booting) {
      root.replaceChildren(NavBar(), LoadingView());
      return;
    }
    var isPrivate = path === "/chat" || path === "/notes";
    if (path === "/" || (path === "/login" && state.user) || (isPrivate && !state.user)) {
      navigate(state.user ? "/chat" : "/login");
      return;
    }
    var view;
    if (path === "/login") view = LoginView();
    else if (path === "/chat") view = ChatView();
    else if (path === "/notes") view = NotesView();
    else view = NotFoundView();
    root.replaceChildren(NavBar(), view);
  }

  /* ------------------------------------------------------------------------ main (main.jsx) */
  async function boot() {
    render();
    try {
      if (await api.refresh()) state.user = await api.me();
    } catch (ignored) {
      state.user = null;
    }
    state.booting = false;
    render();
  }
  boot();
})();
