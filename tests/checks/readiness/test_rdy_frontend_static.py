"""RDY-020–026 on a copy of the reference target whose frontend sources are replaced by a
well-structured React app (no problem) or a flawed one (the problems)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import check_ids
from rdy_helpers import assert_status, messages, mvp, run_rdy, write

from prodaudit.model import Evidence, Status

__all__ = ["mvp"]

IDS = check_ids(module="readiness.frontend_static")

CLIENT = """export async function listNotes(token) {
  const r = await fetch("/notes", { headers: { Authorization: `Bearer ${token}` } });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return r.json();
}
"""
BOUNDARY = """import { Component } from "react";
export class ErrorBoundary extends Component {
  state = { failed: false };
  static getDerivedStateFromError() { return { failed: true }; }
  componentDidCatch(error) { console.warn(error); }
  render() { return this.state.failed ? <p>Something went wrong.</p> : this.props.children; }
}
"""
NOTES_GOOD = """import { useEffect, useState } from "react";
import { listNotes } from "../api/client.js";
export function Notes({ token }) {
  const [notes, setNotes] = useState([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);
  useEffect(() => {
    listNotes(token).then(setNotes).catch(setError).finally(() => setLoading(false));
  }, [token]);
  if (loading) return <p aria-busy="true">Loading…</p>;
  if (error) return <p role="alert">{String(error)}</p>;
  return <ul>{notes.map((n) => <li key={n.id}>{n.title}</li>)}</ul>;
}
"""
NOTES_BAD = """import { useEffect, useState } from "react";
export function Notes() {
  const [notes, setNotes] = useState([]);
  useEffect(() => { fetch("/notes").then((r) => r.json()).then(setNotes); }, []);
  return <ul>{notes.map((n) =>
    <li key={n.id} dangerouslySetInnerHTML={{ __html: n.body }} />)}</ul>;
}
"""
INDEX_GOOD = ('<!doctype html><html><head><meta name="viewport" '
              'content="width=device-width, initial-scale=1"></head><body></body></html>\n')
INDEX_BAD = "<!doctype html><html><head><title>x</title></head><body></body></html>\n"


def frontend(root: Path, *, good: bool) -> Path:
    fe = root / "frontend"
    for sub in ("src", "dist"):
        shutil.rmtree(fe / sub, ignore_errors=True)
    (fe / "index.html").unlink(missing_ok=True)
    deps = {"react": "19.0.0", "react-dom": "19.0.0", "zustand": "5.0.0"}
    if not good:
        deps["@reduxjs/toolkit"] = "2.0.0"
    write(fe / "package.json", json.dumps({"name": "fe", "dependencies": deps}))
    write(fe / "index.html", INDEX_GOOD if good else INDEX_BAD)
    write(fe / "src" / "main.jsx", 'import { createRoot } from "react-dom/client";\n'
          + ('import { ErrorBoundary } from "./components/ErrorBoundary.jsx";\n'
             'import { Notes } from "./components/Notes.jsx";\n'
             'createRoot(document.getElementById("root")).render(\n'
             '  <ErrorBoundary><Notes /></ErrorBoundary>);\n' if good else ""))
    if good:
        write(fe / "src" / "api" / "client.js", CLIENT)
        write(fe / "src" / "components" / "ErrorBoundary.jsx", BOUNDARY)
        write(fe / "src" / "components" / "Notes.jsx", NOTES_GOOD)
    else:
        write(fe / "src" / "api" / "client.js", CLIENT)
        write(fe / "src" / "components" / "Notes.jsx", NOTES_BAD)
        write(fe / "src" / "components" / "Huge.jsx",
              "export const Huge = () => null;\n" + "// filler\n" * 450)
    return root


def test_rdy021_boundary_must_be_rendered(mvp: Path) -> None:
    """A boundary class that nothing renders is only present; rendered around the app it is
    verified (parsed)."""
    frontend(mvp, good=True)
    r = run_rdy("RDY-021", repo=mvp)["RDY-021"]
    assert r.verified_pass and "rendered at frontend/src/main.jsx:5" in messages(r), messages(r)
    write(mvp / "frontend" / "src" / "main.jsx", 'import { createRoot } from "react-dom/client";\n'
          'import { Notes } from "./components/Notes.jsx";\n'
          'createRoot(document.getElementById("root")).render(<Notes />);\n')
    r = run_rdy("RDY-021", repo=mvp)["RDY-021"]
    assert r.status is Status.PASS and r.evidence_level is Evidence.PRESENT
    assert "defined but never rendered" in messages(r)


def test_rdy024_two_state_libraries_in_use_fail(mvp: Path) -> None:
    """Two store libraries imported by the sources are two sources of truth (FAIL at both
    imports); one imported library passes on parsed evidence; none is present only."""
    frontend(mvp, good=True)
    r = run_rdy("RDY-024", repo=mvp)["RDY-024"]
    assert r.status is Status.PASS and r.evidence_level is Evidence.PRESENT
    assert "zustand declared but not imported" in messages(r)
    write(mvp / "frontend" / "src" / "store.js",
          'import { create } from "zustand";\nexport const useNotes = create(() => ({ notes: [] }));\n')
    r = run_rdy("RDY-024", repo=mvp)["RDY-024"]
    assert_status(r, Status.PASS)
    assert r.verified_pass and "zustand (first imported at frontend/src/store.js:1)" in messages(r)
    write(mvp / "frontend" / "src" / "legacy.js",
          '// the old store, still used by the settings page\n'
          'import { configureStore } from "@reduxjs/toolkit";\n'
          'export const store = configureStore({ reducer: {} });\n')
    r = run_rdy("RDY-024", repo=mvp)["RDY-024"]
    assert_status(r, Status.FAIL)
    assert {f.location for f in r.findings} == {"frontend/src/legacy.js:2", "frontend/src/store.js:1"}
    assert "two sources of truth" in messages(r)


def test_good_frontend_passes(mvp: Path) -> None:
    results = run_rdy(IDS, repo=frontend(mvp, good=True))
    for check_id in IDS:
        assert_status(results[check_id], Status.PASS)
    assert "src/api/client.js" in messages(results["RDY-020"])
    assert "getDerivedStateFromError" in messages(results["RDY-021"]) or "componentDidCatch" in \
        messages(results["RDY-021"])


@pytest.mark.parametrize(("check_id", "status", "needle"), [
    ("RDY-020", Status.WARN, "frontend/src/components/Notes.jsx"),
    ("RDY-021", Status.FAIL, "no React error boundary"),
    ("RDY-022", Status.WARN, "no loading or error state"),
    ("RDY-023", Status.WARN, "Huge.jsx has 451 lines"),
    ("RDY-024", Status.WARN, "redux, zustand"),
    ("RDY-025", Status.FAIL, "dangerouslySetInnerHTML"),
    ("RDY-026", Status.FAIL, "no viewport meta tag"),
])
def test_flawed_frontend(mvp: Path, check_id: str, status: Status, needle: str) -> None:
    r = run_rdy(check_id, repo=frontend(mvp, good=False))[check_id]
    assert_status(r, status)
    assert needle in messages(r), messages(r)


def test_no_frontend_skips(mvp: Path) -> None:
    shutil.rmtree(mvp / "frontend")
    r = run_rdy("RDY-021", repo=mvp)["RDY-021"]
    assert r.status is Status.SKIP and "no frontend sources" in r.reason


VENDORED = ("/*!\n * Widgets v0.100.1 (https://widgets.example)\n * Copyright 2014-2017 Widgets\n"
            " * MIT License\n */\nfunction show(el, html) { el.innerHTML = html; }\n")
OWN_SINK = ("/* Copyright 2025 the product team. */\n"
            "export function show(el, html) { el.innerHTML = html; }\n")


def test_vendored_bundles_are_not_the_products_code(mvp: Path) -> None:
    """A copied third-party library (a licence banner with a version, e.g. a non-minified
    materialize.js in static/js) is not judged as the product's sink; the product's own file with
    the same code is, whatever its copyright comment says."""
    repo = frontend(mvp, good=True)
    write(repo / "frontend/src/lib/widgets.js", VENDORED)
    assert_status(run_rdy("RDY-025", repo=repo)["RDY-025"], Status.PASS)
    write(repo / "frontend/src/show.js", OWN_SINK)
    r = run_rdy("RDY-025", repo=repo)["RDY-025"]
    assert_status(r, Status.FAIL)
    assert {f.location.split(":")[0] for f in r.findings if f.status is Status.FAIL} == \
        {"frontend/src/show.js"}


SENTRY_APP = """import * as Sentry from "@sentry/react";
import { Notes } from "./components/Notes.jsx";

export const App = () => (
  <Sentry.ErrorBoundary fallback={<p>An error has occurred</p>}>
    <Notes />
  </Sentry.ErrorBoundary>
);
"""


@pytest.mark.parametrize(("app", "status"), [
    (SENTRY_APP, Status.PASS),
    (SENTRY_APP.replace('import * as Sentry from "@sentry/react"',
                        'import { ErrorBoundary } from "@bugsnag/plugin-react"')
     .replace("Sentry.ErrorBoundary", "ErrorBoundary"), Status.PASS),
    # a namespace the file does not import from a package, or no boundary at all: FAIL
    (SENTRY_APP.replace('import * as Sentry from "@sentry/react";\n', ""), Status.FAIL),
    (SENTRY_APP.replace("<Sentry.ErrorBoundary fallback={<p>An error has occurred</p>}>", "<>")
     .replace("</Sentry.ErrorBoundary>", "</>"), Status.FAIL),
])
def test_rdy021_library_error_boundary(mvp: Path, app: str, status: Status) -> None:
    """A library's boundary rendered around the app (``<Sentry.ErrorBoundary>``, an imported
    ``<ErrorBoundary>`` of a package) is an error boundary; without one the check fails."""
    frontend(mvp, good=False)
    write(mvp / "frontend" / "src" / "App.jsx", app)
    r = run_rdy("RDY-021", repo=mvp)["RDY-021"]
    assert_status(r, status)
    if status is Status.PASS:
        assert r.verified_pass and "rendered at frontend/src/App.jsx:5" in messages(r), messages(r)
    else:
        assert "no React error boundary" in messages(r)


GENERATED_USER = """import { useQuery } from "@tanstack/react-query";
import { UsersService } from "@app/client";
export function Me() {
  const { data, isLoading, error } = useQuery({ queryKey: ["me"], queryFn: UsersService.readUserMe });
  if (isLoading) return <p aria-busy="true">Loading…</p>;
  if (error) return <p role="alert">{String(error)}</p>;
  return <p>{data?.email}</p>;
}
"""


@pytest.mark.parametrize("alias", ["tsconfig", "vite", "default"])
def test_generated_client_through_a_path_alias(mvp: Path, alias: str) -> None:
    """Components that import a generated OpenAPI client through a path alias (tsconfig
    ``paths``, a Vite ``alias``, or ``@/`` → ``src/``) call the API: RDY-020 and RDY-022 agree."""
    fe = frontend(mvp, good=True) / "frontend"
    shutil.rmtree(fe / "src" / "api")
    (fe / "src" / "components" / "Notes.jsx").unlink()
    write(fe / "src" / "main.jsx", 'import { createRoot } from "react-dom/client";\n'
          'import { ErrorBoundary } from "./components/ErrorBoundary.jsx";\n'
          'import { Me } from "./components/Me.tsx";\n'
          'createRoot(document.getElementById("root")).render(<ErrorBoundary><Me /></ErrorBoundary>);\n')
    # the generated client's configuration is committed, its request code is not
    write(fe / "src" / "client" / "core" / "OpenAPI.ts",
          'import type { ApiRequestOptions } from "./ApiRequestOptions";\n'
          'export const OpenAPI = { BASE: "" };\n')
    user = GENERATED_USER
    if alias == "tsconfig":
        write(fe / "tsconfig.json", '{\n  // JSONC\n  "compilerOptions": {"baseUrl": ".", '
              '"paths": {"@app/*": ["./src/*"]},},\n}\n')
    elif alias == "vite":
        write(fe / "vite.config.ts", 'import path from "path";\nexport default { resolve: { alias: '
              '{ "@app": path.resolve(__dirname, "./src") } } };\n')
    else:
        user = user.replace("@app/client", "@/client")
    write(fe / "src" / "components" / "Me.tsx", user)
    results = run_rdy(["RDY-020", "RDY-022", "CFG-005"], repo=mvp)
    # the alias configurations the frontend lacks are not read (no "unreadable" file problem)
    assert "unreadable" not in messages(results["CFG-005"]), messages(results["CFG-005"])
    assert_status(results["RDY-020"], Status.PASS)
    assert "1 file(s) call the API through frontend/src/client" in messages(results["RDY-020"])
    assert results["RDY-020"].findings[0].location == "frontend/src/components/Me.tsx:2"
    assert_status(results["RDY-022"], Status.PASS)
    assert "frontend/src/components/Me.tsx" in messages(results["RDY-022"])


def test_no_api_call_nor_client_import_warns(mvp: Path) -> None:
    fe = frontend(mvp, good=True) / "frontend"
    shutil.rmtree(fe / "src" / "api")
    write(fe / "src" / "components" / "Notes.jsx", 'import { fmt } from "@/utils";\n'
          "export const Notes = () => <p>{fmt(1)}</p>;\n")
    results = run_rdy(["RDY-020", "RDY-022"], repo=mvp)
    assert_status(results["RDY-020"], Status.WARN)
    assert "no API client import" in messages(results["RDY-020"])
    assert results["RDY-022"].status is Status.SKIP
    assert "no API client import" in results["RDY-022"].reason
