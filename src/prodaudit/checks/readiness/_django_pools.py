"""RDY-082's reading of Django's ``DATABASES``: persistent connections (``CONN_MAX_AGE``), a
connection pool (``OPTIONS: {"pool": True}``) or ``dj_database_url``'s ``conn_max_age``, in the
settings production runs with. Not a check module."""

from __future__ import annotations

import ast

from prodaudit.checks.api import Context, Finding, passed, warned
from prodaudit.checks.readiness._scan import call_name
from prodaudit.product.django_settings import django_settings, nested_updates
from prodaudit.product.effective import deployed_value
from prodaudit.product.pysettings import Setting, settings_model
from prodaudit.product.pyvalues import UNKNOWN

_DJANGO_POOL_FIX = ("set CONN_MAX_AGE=60 and CONN_HEALTH_CHECKS=True, or pool through pgbouncer "
                    "or Django 5.1's OPTIONS={\"pool\": True} (psycopg 3)")


def _django_entry(ctx: Context, dbs: Setting, alias: str, name: str) -> Setting | None:
    """The entry ``name`` of the ``alias`` database in the literal ``dbs`` assigns."""
    scope = f"dict DATABASES.{alias}"
    return next((s for s in settings_model(ctx).settings if s.path == dbs.path
                 and s.scope == scope and s.name == name and s.line >= dbs.line), None)


def _url_config(ctx: Context, dbs: Setting, alias: str) -> tuple[object, str] | None:
    """(CONN_MAX_AGE, how) of a ``dj_database_url.config(...)``/``parse(...)`` the ``alias``
    entry of the ``DATABASES`` literal calls: its ``conn_max_age=`` (a literal, else unknown),
    0 (the package's default) without it; None for any other expression."""
    try:
        tree = ast.parse(ctx.read(dbs.path) or "")
    except SyntaxError:
        return None
    stmt = next((n for n in tree.body if isinstance(n, ast.Assign) and n.lineno == dbs.line
                 and isinstance(n.value, ast.Dict)), None)
    if stmt is None:
        return None
    assert isinstance(stmt.value, ast.Dict)
    call = next((v for k, v in zip(stmt.value.keys, stmt.value.values, strict=False)
                 if isinstance(k, ast.Constant) and k.value == alias), None)
    if not isinstance(call, ast.Call) or "dj_database_url" not in call_name(call) \
            and call_name(call) not in ("config", "parse"):
        return None
    kw = next((k.value for k in call.keywords if k.arg == "conn_max_age"), None)
    if kw is None:
        return 0, f"{call_name(call)}() without conn_max_age"
    if isinstance(kw, ast.Constant):
        return kw.value, f"{call_name(call)}(conn_max_age={kw.value!r})"
    return UNKNOWN, ast.unparse(kw)[:60]


def django_pools(ctx: Context) -> tuple[list[Finding], list[str]]:
    """(findings, reasons it could not tell) for the server databases of the ``DATABASES``
    setting production runs with: persistent connections or a pool per alias."""
    dj = django_settings(ctx)
    dbs = dj.effective.get("DATABASES") if dj.production else None
    if dbs is None:
        return [], []
    if not isinstance(dbs.value, dict):
        return [], [f"DATABASES at {dbs.loc} is not static ({dbs.expr[:80]})"]
    out: list[Finding] = []
    unknown: list[str] = []
    for alias, conf in dbs.value.items():
        via, entry, what = "", None, ""
        # ``DATABASES["default"]["CONN_MAX_AGE"] = 60`` after the dictionary: what runs
        later = nested_updates(ctx, "DATABASES", str(alias))
        if not isinstance(conf, dict):
            url = _url_config(ctx, dbs, str(alias))
            if url is None and "CONN_MAX_AGE" not in later:
                unknown.append(f"DATABASES[{alias!r}] at {dbs.loc} is not static")
                continue
            age, what = url or (0, "")
            via = f" ({what})" if what else ""
        else:
            if "sqlite" in str(conf.get("ENGINE", "")):
                continue
            options = later["OPTIONS"].value if "OPTIONS" in later else conf.get("OPTIONS")
            if isinstance(options, dict) and options.get("pool"):
                where = later["OPTIONS"].loc if "OPTIONS" in later else dbs.loc
                out.append(passed(f"DATABASES[{alias!r}]: OPTIONS pool (Django connection pool)",
                                  location=where))
                continue
            age = conf.get("CONN_MAX_AGE", 0)
            entry = _django_entry(ctx, dbs, str(alias), "CONN_MAX_AGE")
            what = "CONN_MAX_AGE={age}" if entry is not None else "no CONN_MAX_AGE"
        if "CONN_MAX_AGE" in later:
            entry, via, what = later["CONN_MAX_AGE"], "", "CONN_MAX_AGE={age}"
            age = entry.value
        deployed = deployed_value(ctx, entry)[1] if entry is not None else None
        if entry is not None and deployed is not None:
            via = f" ({entry.env}={deployed.value} set by {deployed.source})"
            raw = deployed.value.strip()
            age = int(raw) if raw.lstrip("-").isdigit() else None if raw == "None" else raw
        where = entry.loc if entry is not None else dbs.loc
        if age is None:
            out.append(passed(f"DATABASES[{alias!r}]: CONN_MAX_AGE=None (persistent connections)"
                              f"{via}", location=where))
        elif isinstance(age, bool) or not isinstance(age, int | float):
            unknown.append(f"DATABASES[{alias!r}] CONN_MAX_AGE at {where} is not static{via}")
        elif age > 0:
            out.append(passed(f"DATABASES[{alias!r}]: CONN_MAX_AGE={age} (connections reused)"
                              f"{via}", location=where))
        else:
            said = what.format(age=age) + ("" if what in via else via)
            out.append(warned(f"DATABASES[{alias!r}] in the production settings ({dj.production}):"
                              f" {said} — a new database connection per request; "
                              + _DJANGO_POOL_FIX,
                              location=where if "CONN_MAX_AGE" in later else dbs.loc,
                              evidence=f"DATABASES = {dbs.expr[:200]}"))
    return out, unknown
