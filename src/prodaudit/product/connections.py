"""Connection URLs written into the application's code. Not a check module: CFG-032 judges them.

Found in settings (a literal, an f-string or concatenation composing the URL from host and port
settings, the default of a variable the deployment does not set), in arguments of calls
(``Celery("worker", broker="redis://redis:6379/0")``, ``create_engine("sqlite:///" + path)``,
``Redis.from_url(...)``), and in Django ``DATABASES`` entries (``"ENGINE":
"django.db.backends.sqlite3"``). Settings classes nothing uses, development modules and CI-only
branches are left out.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodaudit.product.pyindex import py_index
from prodaudit.product.pysettings import (
    Setting,
    live_settings_classes,
    readers_of,
    settings_classes,
    settings_model,
)
from prodaudit.product.pyvalues import Composed, env_read, evaluate
from prodaudit.product.textwords import contains

if TYPE_CHECKING:
    from prodaudit.context import Context

_SCHEME_RE = re.compile(r"^(redis|rediss|sqlite[+\w]*|amqp|amqps)://", re.I)


@dataclass(frozen=True)
class CodeURL:
    path: str
    line: int
    where: str  # "REDIS_CACHE_URL = f'redis://{HOST}:{PORT}'", "Celery(broker=...)"
    url: str  # composed parts written as {expr}
    composed: bool
    env: str | None = None  # the variable it is the default of

    @property
    def loc(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0].lower()


def _live(ctx: Context, s: Setting) -> bool:
    if not s.scope.startswith("class "):
        return True
    name = s.scope.split(" ", 1)[1]
    return name not in settings_classes(ctx) or name in live_settings_classes(ctx)


_ALIAS_RE = re.compile(r"[A-Za-z_][\w.]*")


def code_urls(ctx: Context) -> list[CodeURL]:
    """Redis, AMQP and SQLite URLs in the application code (memoised)."""

    def build() -> list[CodeURL]:
        out: dict[str, CodeURL] = {}
        for s in settings_model(ctx).settings:
            if s.dev or s.ci_only or s.guard or not _live(ctx, s) or not isinstance(s.value, str):
                continue
            if s.name.upper() == "ENGINE" and s.value.endswith("sqlite3"):
                out.setdefault(s.loc, CodeURL(s.path, s.line, f"{s.scope}: ENGINE = {s.expr}",
                                              "sqlite://", False, s.env))
            elif _SCHEME_RE.match(s.value) and not _ALIAS_RE.fullmatch(s.expr.strip()):
                # ``LOCATION = REDIS_URL``: the value of another setting, judged at its own line
                composed = isinstance(s.value, Composed) or s.expr.startswith(("f'", 'f"')) \
                    or " + " in s.expr
                out.setdefault(s.loc, CodeURL(s.path, s.line, f"{s.name} = {s.expr}"[:160],
                                              s.value, composed, s.env))
        for module in py_index(ctx):
            if not contains(module, "://"):
                continue
            readers = readers_of(ctx, module)
            for node in module.calls:
                for found in _call_urls(module.rel, node, readers):
                    out.setdefault(found.loc, found)
        return sorted(out.values(), key=lambda u: (u.path, u.line))

    return ctx.memo("product:code_urls", build)


def _call_urls(rel: str, node: ast.Call, readers: set[str]) -> list[CodeURL]:
    if env_read(node, readers) is not None:
        return []  # a default of an environment read: judged with the setting it belongs to
    fname = ast.unparse(node.func)[:60]
    out = []
    args = [("", a) for a in node.args] + [(k.arg or "", k.value) for k in node.keywords]
    for key, arg in args:
        if not isinstance(arg, ast.Constant | ast.JoinedStr | ast.BinOp):
            continue  # a name or an environment read: configured elsewhere
        value = evaluate(arg, {}, readers)
        if isinstance(value, str) and _SCHEME_RE.match(value):
            label = f"{fname}({key}=...)" if key else f"{fname}(...)"
            out.append(CodeURL(rel, arg.lineno, label, value, isinstance(value, Composed)))
    return out
