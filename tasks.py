"""invoke tasks: thin wrappers that call the prodaudit library.

    invoke audit.all            every suite, then reports (default task of `audit`)
    invoke audit.security       one suite
    invoke report.build         re-render reports from the last audit.json
    invoke docs.build           assemble reports and generated guides into docs/
    invoke demo.up / demo.down  start / stop the reference target
    invoke docker.clean         remove the Docker objects runs left behind (prodaudit clean)
    invoke fleet.plan / fleet.merge  a fleet's CI job matrix / merge its jobs' audits (docs/fleet.md)

The audit, report, clean and fleet tasks take every option of `prodaudit run` / `report` /
`clean` / `plan` / `merge`: they are generated from the CLI's own option definitions
(prodaudit.invoke_tasks). Exit codes are the CLI's: 0 GO, 1 NO-GO, 2 CONDITIONAL GO, 3 could not
run (also a usage error), 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path

from invoke import Collection, Context, task

from prodaudit.cli_fleet import merge_option_actions, plan_option_actions
from prodaudit.invoke_tasks import (
    audit_task,
    clean_task,
    cli_task,
    library_call,
    report_task,
    usage_errors_exit_3,
)

usage_errors_exit_3()

audit = Collection("audit")
audit.add_task(audit_task("all", "all", "Run every suite (or those given with --suite) and write "
                                        "the reports."), default=True)
for _suite in ("config", "functional", "security", "deployment", "readiness"):
    audit.add_task(audit_task(_suite, _suite, f"Run the {_suite} suite and write the reports."))

report = Collection("report")
report.add_task(report_task("build", "Re-render every report from the last audit.json without "
                                     "re-running the audit."), default=True)

docker = Collection("docker")
docker.add_task(clean_task("clean", "Remove the Docker objects carrying prodaudit's run labels "
                                    "(what an interrupted run left behind), nothing else."))


@task(name="build", default=True, help={"reports": "reports directory", "docs": "docs directory"})
def docs_build(c: Context, reports: str = "reports", docs: str = "docs") -> None:
    """Assemble the latest reports into docs/audit/ and write the generated guides into docs/."""
    from prodaudit.docs_build import build_docs

    for path in library_call(lambda: build_docs(Path(reports), Path(docs))):
        print(path)


@task(name="up", help={"flaws": "ULTRA_FLAWS to switch on, comma separated"})
def demo_up(c: Context, flaws: str = "") -> None:
    """Start the reference target in the background and print its URLs and audit account."""
    from prodaudit.demo import up

    print(library_call(lambda: up(flaws)))


@task(name="down")
def demo_down(c: Context) -> None:
    """Stop the reference target started by demo.up."""
    from prodaudit.demo import down

    print(library_call(down))


docs = Collection("docs", docs_build)
demo = Collection("demo", demo_up, demo_down)
fleet = Collection("fleet")
fleet.add_task(cli_task("plan", "Print the CI job matrix of a fleet ([[services]]).", plan_option_actions(),
                        ["plan"]))
fleet.add_task(cli_task("merge", "Merge a fleet's job audits into one decision and write the fleet reports.",
                        merge_option_actions(), ["merge"]))
ns = Collection(audit, report, docs, demo, docker, fleet)
