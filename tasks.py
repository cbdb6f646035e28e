"""invoke tasks: thin wrappers that parse options and call the prodaudit library.

    invoke audit.all            every suite, then reports (default task of `audit`)
    invoke audit.security       one suite
    invoke report.build         re-render reports from the last audit.json
    invoke docs.build           assemble reports and generated guides into docs/
    invoke demo.up / demo.down  start / stop the reference target
"""

from __future__ import annotations

from invoke import Collection, Context, Exit, task

OPTION_HELP = {
    "repo": "target repository (default: bundled reference target)",
    "base_url": "running backend URL",
    "frontend_url": "running frontend URL",
    "env_file": "env file of the audited profile",
    "compose_file": "compose file",
    "profile": "production | staging | development",
    "only": "check ids or prefixes, comma separated",
    "skip": "check ids or prefixes to skip, comma separated",
    "output": "report directory (default: reports)",
    "format": "report formats, comma separated",
    "config": "configuration file",
    "fail_on": "conditional | no-go",
}


def _run(suite: str, **opts: str | None) -> None:
    from prodaudit.cli import main

    argv = ["run", "--suite", suite]
    for key, value in opts.items():
        if value:
            argv += [f"--{key.replace('_', '-')}", str(value)]
    code = main(argv)
    if code:
        raise Exit(code=code)


def _suite_task(suite: str, name: str, doc: str, default: bool = False):  # type: ignore[no-untyped-def]
    @task(name=name, default=default, help=OPTION_HELP)
    def _task(
        c: Context, repo=None, base_url=None, frontend_url=None, env_file=None,  # type: ignore[no-untyped-def]
        compose_file=None, profile=None, only=None, skip=None, output=None, format=None,
        config=None, fail_on=None,
    ) -> None:
        _run(suite, repo=repo, base_url=base_url, frontend_url=frontend_url, env_file=env_file,
             compose_file=compose_file, profile=profile, only=only, skip=skip, output=output,
             format=format, config=config, fail_on=fail_on)

    _task.__doc__ = doc
    return _task


audit = Collection("audit")
audit.add_task(_suite_task("all", "all", "Run every suite and write the reports.", default=True))
for _suite in ("config", "functional", "security", "deployment", "readiness"):
    audit.add_task(_suite_task(_suite, _suite, f"Run the {_suite} suite and write the reports."))


@task(name="build", default=True, help={"audit_json": "audit.json to render (default: reports/latest)",
                                         "format": "formats, comma separated"})
def report_build(c: Context, audit_json=None, format=None) -> None:  # type: ignore[no-untyped-def]
    """Re-render every report from the last audit.json without re-running the audit."""
    from prodaudit.cli import main

    argv = ["report"] + ([audit_json] if audit_json else []) + (["--format", format] if format else [])
    code = main(argv)
    if code:
        raise Exit(code=code)


@task(name="build", default=True, help={"reports": "reports directory", "docs": "docs directory"})
def docs_build(c: Context, reports="reports", docs="docs") -> None:  # type: ignore[no-untyped-def]
    """Assemble the latest reports into docs/audit/ and write the generated guides into docs/."""
    from pathlib import Path

    from prodaudit.config import ConfigError
    from prodaudit.docs_build import build_docs

    try:
        written = build_docs(Path(reports), Path(docs))
    except ConfigError as exc:
        raise Exit(f"prodaudit: error: {exc}", code=3) from None
    for path in written:
        print(path)


@task(name="up", help={"flaws": "ULTRA_FLAWS to switch on, comma separated"})
def demo_up(c: Context, flaws="") -> None:  # type: ignore[no-untyped-def]
    """Start the reference target in the background and print its URLs and audit account."""
    from prodaudit.demo import up

    print(up(flaws))


@task(name="down")
def demo_down(c: Context) -> None:
    """Stop the reference target started by demo.up."""
    from prodaudit.demo import down

    print(down())


report = Collection("report", report_build)
docs = Collection("docs", docs_build)
demo = Collection("demo", demo_up, demo_down)
ns = Collection(audit, report, docs, demo)
