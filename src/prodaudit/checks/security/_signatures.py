"""What an answer that leaks internals looks like: SQL error messages of the common databases
and drivers, framework debug pages, stack traces. Shared by the error-leakage checks (SEC-070,
SEC-074) and the debug-endpoint check. Not a check module.

Each signature has a kind: ``sql`` (the input reached the database's parser: likely SQL
injection), ``debug`` (a framework's debug page: debug mode in production), ``trace`` (a stack
trace). A signature is matched on the raw body (HTML entities are decoded first)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from prodaudit.redact import mask_tokens


@dataclass(frozen=True)
class Signature:
    name: str
    kind: str  # "sql" | "debug" | "trace"
    regex: re.Pattern[str]


def _sig(name: str, kind: str, pattern: str) -> Signature:
    return Signature(name, kind, re.compile(pattern, re.I))


SIGNATURES: tuple[Signature, ...] = (
    # --- SQL errors: the quote reached the SQL parser -----------------------------------------
    _sig("PostgreSQL syntax error", "sql",
         r"syntax error at or near|unterminated quoted (?:string|identifier) at or near|"
         r"invalid input syntax for (?:type )?\w+|PG::\w+Error|org\.postgresql\.util\.PSQLException"),
    _sig("psycopg error", "sql", r"psycopg2?\.(?:errors\.)?\w*Error|asyncpg\.exceptions\.\w+"),
    _sig("MySQL error", "sql",
         r"You have an error in your SQL syntax|check the manual that corresponds to your "
         r"(?:MySQL|MariaDB) server version|MySQLdb\._exceptions|pymysql\.err\.\w+|"
         r"com\.mysql\.jdbc|mysqli?_(?:fetch|query|num_rows)\b"),
    _sig("SQLite error", "sql",
         r"sqlite3\.(?:OperationalError|ProgrammingError|IntegrityError)|SQLITE_ERROR|"
         r"unrecognized token: |near \"[^\"]{0,40}\": syntax error|SQLite3::SQLException|"
         r"System\.Data\.SQLite"),
    _sig("SQLAlchemy error", "sql",
         r"sqlalchemy\.exc\.\w+|\(Background on this error at: https?://sqlalche\.me"),
    _sig("Django database error", "sql",
         r"django\.db\.utils\.\w+Error|(?:DatabaseError|OperationalError|ProgrammingError|"
         r"DataError) at /"),
    _sig("SQL Server / Oracle error", "sql",
         r"Unclosed quotation mark after the character string|quoted string not properly "
         r"terminated|\bORA-\d{5}\b|Microsoft OLE DB Provider for SQL Server"),
    # --- framework debug pages -----------------------------------------------------------
    _sig("Werkzeug debugger", "debug",
         r"Werkzeug Debugger|__debugger__=yes|The debugger caught an exception in your WSGI"),
    _sig("Django technical 500 page", "debug",
         r"You.re seeing this error because you have <code>DEBUG = True</code> in your|"
         r"<th>Django Version:</th>|^Django Version: \d"),
    _sig("Django DEBUG 404 page listing URL patterns", "debug",
         r"Django tried these URL patterns|Using the URLconf defined in"),
    _sig("Starlette/FastAPI debug traceback", "debug",
         r"<title>Starlette Debugger</title>|<p class=\"traceback-title\">Traceback</p>"),
    _sig("aiohttp debug traceback", "debug", r"<h2>Traceback:</h2>\s*<pre>"),
    _sig("Rails/Laravel/Express debug page", "debug",
         r"Action Controller: Exception caught|Whoops! There was an error|"
         r"<title>Error</title>\s*</head>\s*<body>\s*<pre>\w*Error: "),
    # --- stack traces ---------------------------------------------------------------------
    _sig("Python traceback", "trace",
         r"Traceback \(most recent call last\)|File \\?\"[^\"\n]{1,200}\.py\\?\", line \d+, in "),
    _sig("Java stack trace", "trace", r"\bat [\w$.]+\((?:[\w$]+\.java|Native Method):?\d*\)"),
    _sig("Node.js stack trace", "trace", r"\n\s+at [\w$.<>\[\] ]+ \((?:/|[A-Z]:\\)[^)\n]+:\d+:\d+\)"),
    _sig("PHP error", "trace", r"(?:Fatal error|Parse error|Warning)</b>?: .{1,200} on line <b>?\d+|"
                               r"Stack trace:\s*#0 "),
    _sig(".NET stack trace", "trace", r"   at System\.[\w.]+\(|Server Error in '/' Application"),
)
KIND_WORDS = {"sql": "an SQL error", "debug": "a framework debug page", "trace": "a stack trace"}


def decoded(body: str) -> str:
    """The body with HTML entities decoded (debug pages escape what they quote)."""
    return html.unescape(body) if "&" in body else body


def matches(text: str) -> list[tuple[Signature, re.Match[str]]]:
    """Every signature found in ``text`` with its first match."""
    text = decoded(text)
    out = []
    for sig in SIGNATURES:
        m = sig.regex.search(text)
        if m is not None:
            out.append((sig, m))
    return out


def new_matches(text: str, baseline: str | None) -> list[tuple[Signature, re.Match[str]]]:
    """Signatures found in ``text`` that the baseline answer (the same request with an
    ordinary value) does not show: the probe, not the page, caused them."""
    before = {sig.name for sig, _ in matches(baseline)} if baseline else set()
    return [(sig, m) for sig, m in matches(text) if sig.name not in before]


def excerpt(text: str, m: re.Match[str], around: int = 80) -> str:
    """A bounded window around a match, on one line, with credential-shaped values masked (a
    traceback quotes source lines and local values)."""
    text = decoded(text)
    start, end = max(0, m.start() - around), min(len(text), m.end() + around)
    return "…" + mask_tokens(" ".join(text[start:end].split()), entropy=False) + "…"


def describe(found: list[tuple[Signature, re.Match[str]]], text: str) -> str:
    """The matched signatures and an excerpt of each, for evidence."""
    return "\n".join(f"matched {sig.name} ({sig.kind}): {excerpt(text, m)}" for sig, m in found)
