"""A Flask API whose source is also the audited repository (SEC-094): ``flawed`` grants staff
access to whoever sends ``X-Staff-Access: yes`` (a GET answered 403 without it, and a DELETE
refused with 403 without it, let through to the note lookup with it); the fixed one decides
from a credential only. The app's ``config["NOTES"]`` is its data, for tests to see that nothing
was deleted."""

from __future__ import annotations

from typing import Any

_SOURCE = '''
from flask import Flask, abort, jsonify, request

app = Flask(__name__)
NOTES = {1: "first", 2: "second"}


def staff():
    return {CHECK}


@app.get("/")
def index():
    return '<a href="/api/reports">reports</a> <a href="/api/notes/1">a note</a>'


@app.get("/api/reports")
def reports():
    if {CHECK}:
        return jsonify([{"id": 1, "total": 3}])
    abort(403)


@app.route("/api/notes/<int:note_id>", methods=["GET", "DELETE"])
def note(note_id):
    if request.method == "DELETE":
        if not {CHECK}:
            abort(403)
        if note_id not in NOTES:
            abort(404)
        del NOTES[note_id]
        return jsonify({"deleted": note_id})
    if note_id not in NOTES:
        abort(404)
    return jsonify({"id": note_id, "text": NOTES[note_id]})
'''
FLAWED_CHECK = 'request.headers.get("X-Staff-Access") == "yes"'
FIXED_CHECK = 'request.headers.get("Authorization") == "Bearer not-a-header-privilege"'


def source(flawed: bool) -> str:
    return _SOURCE.replace("{CHECK}", FLAWED_CHECK if flawed else FIXED_CHECK)


def privilege_app(flawed: bool) -> Any:
    """The app built from :func:`source` (the code the audit reads is the code that runs)."""
    namespace: dict[str, Any] = {"__name__": "privilege_header_app_instance"}
    exec(compile(source(flawed), "app.py", "exec"), namespace)  # noqa: S102 - our own test source
    app = namespace["app"]
    app.config["NOTES"] = namespace["NOTES"]
    return app
