"""CFG-031: production entry points run no development server, auto-reload or debug logging —
judged where the process is started (Dockerfile ``CMD``/``ENTRYPOINT``, Compose ``command:``,
platform manifests, Procfile, start scripts) and followed into what they run (shell scripts, ``package.json``
scripts, Python scripts, gunicorn's configuration file)."""

from __future__ import annotations

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    errored,
    failed,
    passed,
)
from prodaudit.product.compose import deployed_suffix
from prodaudit.product.entrypoints import EntryPoint, dev_calls, entry_points, gunicorn_reload
from prodaudit.product.envgraph import python_source_file
from prodaudit.product.platforms import manifest_problems
from prodaudit.product.textwords import texts_with
from prodaudit.redact import quote_line

GUNICORN_CONFS = ("gunicorn.conf.py", "gunicorn_conf.py", "gunicorn.config.py")
MAX_NAMED = 8  # entry points named in a PASS


def _production_like(ctx: Context) -> None:
    if ctx.cfg.profile == "development":
        raise Skip("development profile: production settings not applicable")


def _entry_findings(ep: EntryPoint, reported: set[str]) -> list[Finding]:
    out = []
    for hit in ep.hits:
        via = f" (via {hit.where})" if hit.where else ""
        if hit.kind == "gunicorn":
            if hit.where not in reported:  # the configuration line is what a reviewer changes
                reported.add(hit.where)
                out.append(failed(f"gunicorn configuration: {hit.what} (started by {ep.source} at "
                                  f"{ep.location})", location=hit.where,
                                  evidence=quote_line(ep.command)))
            continue
        what = "runs with debug logging" if hit.kind == "debug-log" else \
            "runs a development server or auto-reload"
        key = f"{ep.location}|{hit.what}"
        if key in reported:
            continue
        reported.add(key)
        out.append(failed(f"{ep.source} {what} ({hit.what}){via}", location=ep.location,
                          evidence=quote_line(ep.command)))
    return out


@check("CFG-031", "Production entry points run no dev server, auto-reload or debug logging",
       severity=Severity.HIGH, needs=("repo",), checklist=("3.1.1", "3.1.3"),
       references=("CWE-489",), evidence=Evidence.PARSED)
def entry_points_check(ctx: Context) -> list[Finding]:
    """Dockerfile ``CMD``/``ENTRYPOINT`` (exec form read as words), Compose ``command:``/
    ``entrypoint:`` (development-only projects and the Dockerfiles only they build excepted, as
    are those only a development ``docker-compose.yml`` builds that a ``docker-compose.prod.yml``
    replaces),
    the start and release commands of platform manifests (``render.yaml`` ``startCommand``/
    ``preDeployCommand``, ``fly.toml`` ``[processes]``/``release_command``, ``heroku.yml``
    ``run``, ``app.json`` ``postdeploy``, ``railway.json``/``railway.toml``
    ``deploy.startCommand``, DigitalOcean ``run_command``, App Engine ``entrypoint``), Procfiles
    and start scripts start no development server or reloader (``--reload``, ``fastapi dev``,
    ``flask run``, ``manage.py runserver``, ``npm run dev``, ``react-scripts start``, ``ng
    serve``, ``nodemon``, file watchers that restart the command on change: ``watchfiles``,
    ``watchmedo`` …) and no debug logging (``--log-level debug``, ``celery …
    --loglevel=DEBUG``). What they run is followed one step: the shell script (``ENTRYPOINT
    ["/bin/bash", "/app/run.sh"]``), the ``package.json`` script behind ``npm start``, the
    Python script behind ``python app/main.py`` (``uvicorn.run(reload=True)``), gunicorn's
    configuration file (``reload = True``, reported at its line). Findings are reported where
    the process is started (the followed file in the evidence). Python code anywhere has no
    ``app.run(debug=True)``, ``app.run(host="0.0.0.0")`` or ``uvicorn.run(reload=True)``
    (reported at the call). Every Procfile process line and every start script is judged, clean
    or not, and a PASS names the entry points it judged; development Procfiles
    (``Procfile.dev``, ``Procfile.local``) are not production entry points. A platform manifest
    that cannot be read is an ERROR naming its problem (its commands were not judged).

    Reloaders watch the file system and restart workers (slow, memory hungry, restart loops);
    framework development servers are single-threaded, unhardened and often expose debuggers;
    debug logging writes request data and task arguments to the logs.

    Remediation: run ``uvicorn app.main:app --host 0.0.0.0 --port 8000 --workers N`` (or gunicorn
    with uvicorn workers) without ``--reload``; serve the frontend's built ``dist/`` with a
    static server; log at INFO in production.
    """
    _production_like(ctx)
    out: list[Finding] = [errored(f"platform manifest not read, its commands not judged: {p}",
                                  location=p.split(": ", 1)[0]) for p in manifest_problems(ctx)]
    reported: set[str] = set()
    eps = entry_points(ctx)
    judged: dict[str, str] = {}  # location -> what starts there
    for ep in eps:
        out += _entry_findings(ep, reported)
        judged.setdefault(ep.location, ep.source)
    followed = {f for ep in eps for f in ep.followed}
    indexed, running = texts_with(ctx, ".run(")  # the pass's modules: their texts are in memory
    for rel in ctx.files.files:
        name = rel.rsplit("/", 1)[-1].lower()
        if name in GUNICORN_CONFS and rel not in followed:
            judged.setdefault(rel, "gunicorn configuration")
            for line, what in gunicorn_reload(ctx.read(rel) or ""):
                out.append(failed(f"gunicorn configuration: {what}", location=f"{rel}:{line}"))
        elif python_source_file(rel):
            src = running.get(rel) if rel in indexed else ctx.read(rel)
            if src and ".run(" in src:
                for lineno, what in dev_calls(src):
                    judged.setdefault(f"{rel}:{lineno}", "Python code")
                    out.append(failed(what, location=f"{rel}:{lineno}"))
    if not judged and out:
        return out
    if not judged:
        raise Skip("no entry point found (Dockerfile CMD/ENTRYPOINT, Compose command, platform "
                   "manifest, Procfile, start script)")
    if all(f.status.value == "error" for f in out):
        named = [f"{src} ({loc})" if src not in loc else loc for loc, src in judged.items()]
        more = f" and {len(named) - MAX_NAMED} more" if len(named) > MAX_NAMED else ""
        out.append(passed(f"{len(judged)} entry point(s) checked, no dev server, auto-reload or "
                          f"debug logging: {', '.join(named[:MAX_NAMED])}{more}"
                          + deployed_suffix(ctx.compose().stacks)))
    return out
