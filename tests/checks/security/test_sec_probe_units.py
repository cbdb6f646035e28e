"""Parsing units of the probes: leak signatures, Django DEBUG 404 patterns, links as routes,
sensitive JSON fields, signing-secret candidates from every assignment shape, chat-shaped LLM
bodies."""

from __future__ import annotations

from pathlib import Path

from prodaudit.checks.security._jwt_candidates import repo_candidates
from prodaudit.checks.security._routes import django_patterns, safe_link
from prodaudit.checks.security._sensitive import json_exposures
from prodaudit.checks.security._signatures import describe, matches, new_matches
from prodaudit.checks.security.data_exposure import answer_exposures
from prodaudit.config import load_config
from prodaudit.context import Context
from prodaudit.http import Exchange
from prodaudit.llmdetect import chat_shaped, is_llm_operation
from prodaudit.openapi import Operation
from prodaudit.redact import mask_evidence


def test_signatures_name_the_database_and_the_framework() -> None:
    names = lambda text: {s.name for s, _ in matches(text)}  # noqa: E731
    assert "PostgreSQL syntax error" in names('ERROR:  syntax error at or near "\'"')
    assert "psycopg error" in names("psycopg2.errors.SyntaxError: unterminated quoted string")
    assert "MySQL error" in names("You have an error in your SQL syntax; check the manual")
    assert "SQLite error" in names('sqlite3.OperationalError: near "x": syntax error')
    assert "SQLAlchemy error" in names("(Background on this error at: https://sqlalche.me/e/20)")
    assert "Django database error" in names("<h1>OperationalError at /books/1'/</h1>")
    assert "Werkzeug debugger" in names("<title>ValueError // Werkzeug Debugger</title>")
    assert "Django technical 500 page" in names(
        "You’re seeing this error because you have <code>DEBUG = True</code> in your settings")
    assert "Django DEBUG 404 page listing URL patterns" in names("Django tried these URL patterns")
    assert "Starlette/FastAPI debug traceback" in names("<title>Starlette Debugger</title>")
    assert "aiohttp debug traceback" in names("<h2>Traceback:</h2>\n<pre>Traceback (most")
    assert "Python traceback" in names("Traceback (most recent call last):\n  File")
    # HTML entities are decoded first (debug pages escape what they quote)
    assert "Django database error" in names("django.db.utils.OperationalError: near &quot;x&quot;")
    assert not matches('{"detail": "Not Found"}') and not matches("<h1>Search results</h1>")


def test_new_matches_ignore_what_the_baseline_already_shows() -> None:
    page = "<p>Our docs explain: You have an error in your SQL syntax is a MySQL message</p>"
    assert new_matches(page, page) == []
    assert [s.name for s, _ in new_matches(page, "<p>ok</p>")] == ["MySQL error"]


def test_django_debug_404_patterns_become_path_templates() -> None:
    page = """<p>Django tried these URL patterns, in this order:</p><ol>
      <li> ^oauth/ </li>
      <li> ^api/v1/ ^books/(?P&lt;ISBN&gt;[0-9-A-Za-z]+)/$ [name='books'] </li>
      <li> api/ users/&lt;int:user_id&gt;/ [name='detail'] </li>
      <li> ^weird/(\\d+)/$ </li>
    </ol>"""
    assert django_patterns(page) == ["/oauth/", "/api/v1/books/{ISBN}/", "/api/users/{user_id}/"]
    assert django_patterns("<h1>Not Found</h1>") == []


def test_crawler_never_follows_links_that_change_state() -> None:
    assert safe_link("/notes/1") and safe_link("/search") and safe_link("/signup")
    for path in ("/logout", "/auth/sign-out", "/users/1/delete", "/articles/2/approve",
                 "/static/app.js", "/log-off", "/tasks/run"):
        assert not safe_link(path), path


def test_sensitive_fields_are_described_never_quoted() -> None:
    body = {"results": [{"id": 1, "email": "a@example.com", "password_hash": "$2b$12$" + "x" * 53,
                         "api_key": "live-0123456789", "password": "********", "token": None}]}
    found = {(e.kind, e.where): e.described for e in json_exposures(body)}
    assert found[("hash", "results[0].password_hash")] == "a 2b hash"
    assert found[("secret", "results[0].api_key")] == "a 15-character value"
    assert ("email", "results[0].email") in found
    assert all(k[0] != "password" for k in found)  # a masked value is not an exposure
    assert "live-0123456789" not in repr(json_exposures(body))


def test_prefixed_secret_names_are_sensitive_and_look_alikes_are_not() -> None:
    body = {"config": {"DB_PASSWORD": "hunter2hunter2", "stripe_secret_key": "k" * 24,
                       "OPENAI_API_KEY": "sk-" + "a1" * 12, "password_changed_at": "2024-01-01",
                       "password_hint": "pet", "secret_question": "first pet?",
                       "has_password": "yes", "resetPassword": "/reset", "api_key_id": "public-id",
                       "node_secret": "n0de-" + "b2" * 8, "isSecret": "no"}}
    found = {e.where: e.kind for e in json_exposures(body)}
    assert found == {"config.DB_PASSWORD": "password", "config.stripe_secret_key": "secret",
                     "config.OPENAI_API_KEY": "secret", "config.node_secret": "secret"}


def test_evidence_of_an_answer_masks_what_the_run_never_registered() -> None:
    """Debug pages, tracebacks and records quoted as evidence show no secret value (the runner
    masks only values it knows)."""
    ex = Exchange(
        "GET", "http://127.0.0.1:9/debug/config", {"Accept": "*/*"}, b"", 200,
        {"content-type": "application/json"},
        b'{"DB_PASSWORD": "hunter2hunter2", "name": "api"}\n'
        b'Traceback (most recent call last):\n  File "/app/db.py", line 3, in connect\n'
        b'    engine = create(password="s3cr3t-Passw0rd")\n'
        b'sqlite3.OperationalError: near "x": syntax error\n',
    )
    shown = mask_evidence(ex.evidence(600))
    assert "hunter2hunter2" not in shown and "s3cr3t-Passw0rd" not in shown
    assert shown.startswith("> GET http://127.0.0.1:9/debug/config") and '"name": "api"' in shown
    assert "sqlite3.OperationalError" in shown  # what the evidence is about stays readable
    excerpt = describe(matches(ex.text), ex.text)
    assert "Python traceback" in excerpt and "s3cr3t-Passw0rd" not in excerpt


SHAPES = {
    "app/config.py": (
        'SECRET_KEY = os.environ.get("SECRET_KEY", "tortoise-and-hare-1")\n'
        'app.config["JWT_SECRET_KEY"] = "kettle-of-fish-2"\n'
        "app.config.update(SECRET_KEY='lemon-curd-3')\n"
    ),
    "app/settings.py": (
        "class Settings(BaseSettings):\n"
        '    jwt_secret: str = Field("harbour-lights-4")\n'
        "    signing_key: SecretStr = Field(default='paper-crane-5')\n"
        '    token_secret = env("TOKEN_SECRET", default="quiet-meadow-6")\n'
    ),
    "app/security.py": 'encoded = jwt.encode(payload, "copper-kettle-7", algorithm="HS256")\n',
    ".env.example": "JWT_SECRET=velvet-morning-8\nSECRET_KEY=${SECRET_KEY}\n",
    "docker-compose.yml": "services:\n  api:\n    environment:\n"
                          "      - AUTH_SECRET=${AUTH_SECRET:-silver-birch-9}\n",
    "cookiecutter.json": '{"project": "x", "secret_key": "granite-peak-10"}\n',
    "Dockerfile": "FROM python:3.12\nENV SESSION_SECRET=amber-tide-11\n",
    "web/config.js": "const secret = process.env.JWT_SECRET || 'winter-fox-12';\n",
}


def test_signing_secret_candidates_come_from_every_assignment_shape(tmp_path: Path) -> None:
    for rel, text in SHAPES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    ctx = Context(load_config({"repo": tmp_path, "start_target": False}))
    found = dict(repo_candidates(ctx))
    expected = {"tortoise-and-hare-1": "app/config.py:1", "kettle-of-fish-2": "app/config.py:2",
                "lemon-curd-3": "app/config.py:3", "harbour-lights-4": "app/settings.py:2",
                "paper-crane-5": "app/settings.py:3", "quiet-meadow-6": "app/settings.py:4",
                "copper-kettle-7": "app/security.py:1", "velvet-morning-8": ".env.example:1",
                "silver-birch-9": "docker-compose.yml:4", "granite-peak-10": "cookiecutter.json:1",
                "amber-tide-11": "Dockerfile:2", "winter-fox-12": "web/config.js:1"}
    for value, where in expected.items():
        assert found.get(value) == where, (value, found)
    assert "${SECRET_KEY}" not in found and "SECRET_KEY" not in found


def _op(path: str, schema: dict[str, object]) -> Operation:
    body = {"content": {"application/json": {"schema": schema}}}
    return Operation("POST", path, "", "", (), (), body, {}, None)


def test_chat_shaped_bodies_are_llm_calls_whatever_the_path() -> None:
    messages = {"type": "object", "properties": {"messages": {
        "type": "array", "items": {"type": "object", "properties": {
            "role": {"type": "string"}, "content": {"type": "string"}}}}}}
    assert chat_shaped(_op("/v1/conversation", messages))
    assert is_llm_operation(_op("/v1/conversation", messages))  # no LLM word in the path
    model_prompt = {"type": "object", "properties": {"model": {}, "prompt": {}}}
    assert is_llm_operation(_op("/complete-text", model_prompt))
    # a thread of messages without roles (a message board) is not a chat completion
    board = {"type": "object", "properties": {"messages": {"type": "array", "items": {
        "type": "object", "properties": {"author": {}, "text": {}}}}}}
    assert not chat_shaped(_op("/threads", board)) and not is_llm_operation(_op("/threads", board))
    assert not is_llm_operation(_op("/auth/login", model_prompt))  # authentication never is


def test_what_the_request_carried_is_not_an_exposure_when_echoed() -> None:
    """A sign-up answer echoes the address it was sent: not another account's data; an address
    the request did not carry is."""
    sent = b'{"email": "prodaudit-1a2b@example.com", "password": "x"}'
    echo = b'{"id": 7, "email": "prodaudit-1a2b@example.com"}'
    ex = Exchange("POST", "http://127.0.0.1:9/api/users", {}, sent, 201,
                  {"content-type": "application/json"}, echo)
    assert answer_exposures(ex, set()) == []
    other = Exchange("POST", "http://127.0.0.1:9/api/users", {}, sent, 201,
                     {"content-type": "application/json"}, echo.replace(b"prodaudit-1a2b", b"bob"))
    assert [rule for rule, _ in answer_exposures(other, set())] == ["email-anonymous"]


def test_an_api_description_documents_examples_it_exposes_nothing() -> None:
    """The reference target's OpenAPI document shows example passwords for its request bodies:
    documentation, not an account's data (SEC-075 once failed the hardened target on it)."""
    doc = (b'{"openapi": "3.1.0", "paths": {}, "components": {"schemas": {"RegisterRequest": '
           b'{"examples": [{"email": "ada@example.com", "password": "correct horse battery"}]}}}}')
    ex = Exchange("GET", "http://127.0.0.1:9/openapi.json", {}, b"", 200,
                  {"content-type": "application/json"}, doc)
    assert answer_exposures(ex, set()) == []
    data = b'{"users": [{"email": "ada@example.com", "password": "correct horse battery"}]}'
    leak = Exchange("GET", "http://127.0.0.1:9/users", {}, b"", 200,
                    {"content-type": "application/json"}, data)
    assert "password" in [rule for rule, _ in answer_exposures(leak, set())]


def test_only_the_current_user_record_is_the_audit_accounts_own_address() -> None:
    """``/api/me`` shows the audit account its own address; ``/api/me/following`` lists other
    accounts (after a follow in a mutation run), whose addresses stay other accounts' (microblog
    L06 was missed in the --allow-mutations run for this)."""
    from prodaudit.checks.security.data_exposure import _own_emails

    auth = {"authorization": "Bearer x"}
    json_type = {"content-type": "application/json"}
    me = Exchange("GET", "http://127.0.0.1:9/api/me", auth, b"", 200, json_type,
                  b'{"id": 9, "email": "me@example.com", "followers": [{"email": "f@example.com"}]}')
    following = Exchange("GET", "http://127.0.0.1:9/api/me/following", auth, b"", 200, json_type,
                         b'{"data": [{"id": 1, "email": "ada@example.com"}]}')
    own = _own_emails([me, following], set())
    assert own == {"me@example.com"}
    user = Exchange("GET", "http://127.0.0.1:9/api/users/1", auth, b"", 200, json_type,
                    b'{"id": 1, "email": "ada@example.com"}')
    assert [rule for rule, _ in answer_exposures(user, own)] == ["email-other"]
    mine = Exchange("GET", "http://127.0.0.1:9/api/users/9", auth, b"", 200, json_type,
                    b'{"id": 9, "email": "me@example.com"}')
    assert answer_exposures(mine, own) == []


def test_post_actions_survive_markup_other_items_carry() -> None:
    """A note rendered unescaped that opens a comment must not hide the delete forms after it
    (SEC-082's write probe once missed its own item on a page full of probe payloads)."""
    from prodaudit.checks.security._bola_pages import post_actions

    page = (b"<p>note <!-- {{7*7}} <script>x</p><form method=post action='/notes/3/delete'>"
            b"<button>x</button></form><form action=\"/search\"><input name=q></form>"
            b"<FORM METHOD=\"POST\" ACTION=\"notes/4/delete\"></FORM>")
    ex = Exchange("GET", "http://127.0.0.1:9/home", {}, b"", 200, {"content-type": "text/html"},
                  page)
    assert post_actions(ex) == ["/notes/3/delete", "/notes/4/delete"]
