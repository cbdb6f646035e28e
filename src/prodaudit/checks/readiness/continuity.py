"""RDY-090–099: business continuity — point-in-time recovery settings, backup jobs, single
points of failure in compose, disaster-recovery and failover notes."""

from __future__ import annotations

import re

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.readiness._backup import BackupRun, rehearse
from prodaudit.checks.readiness._compose import compose_docs
from prodaudit.checks.readiness._docs import judge_document
from prodaudit.checks.readiness._scan import data_store_hints, parts
from prodaudit.product.database import pg_connect


def judge_pitr(settings: dict[str, str]) -> list[Finding]:
    """Findings for ``SHOW archive_mode / wal_level / archive_command / archive_library``."""
    mode = settings.get("archive_mode", "")
    level = settings.get("wal_level", "")
    command = settings.get("archive_command", "").strip()
    library = settings.get("archive_library", "").strip()
    shown = ", ".join(f"{k}={v!r}" for k, v in settings.items())
    if level == "minimal":
        return [
            failed(
                "wal_level=minimal: the WAL cannot be archived or replicated; "
                "point-in-time recovery is impossible",
                evidence=shown,
            )
        ]
    if mode not in ("on", "always"):
        return [
            failed(
                f"archive_mode={mode or 'unknown'}: no WAL archive, so the database can "
                "only be restored to the last full backup",
                evidence=shown,
            )
        ]
    if not library and command in ("", "(disabled)"):
        return [
            failed(
                "archive_mode is on but neither archive_command nor archive_library is "
                "set: WAL segments are not archived anywhere",
                evidence=shown,
            )
        ]
    return [
        passed(
            f"WAL archiving on (wal_level={level}, archive_mode={mode}, "
            f"{'archive_library' if library else 'archive_command'} set)",
            evidence=shown,
        )
    ]


@check(
    "RDY-090",
    "PostgreSQL can do point-in-time recovery (WAL archiving)",
    severity=Severity.MEDIUM,
    needs=("database",),
    checklist=("9.1.3",),
    evidence=Evidence.OBSERVED,
)
def pitr(ctx: Context) -> list[Finding]:
    """On the audited PostgreSQL, ``wal_level`` is ``replica`` or ``logical``, ``archive_mode`` is
    ``on`` (or ``always``) and an ``archive_command`` or ``archive_library`` ships WAL segments.
    Needs database access (``DATABASE_URL`` in the audited environment); SKIP otherwise.
    A managed database with provider-side PITR reports ``archive_mode`` as the provider set it.

    Without archived WAL the newest restorable state is the last nightly dump: up to a day of
    data is lost after a bad migration or a deleted table.

    Remediation: set ``archive_mode = on`` and an ``archive_command`` (or use pgBackRest/WAL-G,
    or the provider's PITR), then rehearse a restore to a timestamp.
    """
    with pg_connect(ctx) as conn:
        settings = {}
        for name in ("wal_level", "archive_mode", "archive_command", "archive_library"):
            try:
                row = conn.execute(f"SHOW {name}").fetchone()  # noqa: S608 - fixed names
            except Exception:  # noqa: S112 - archive_library exists from PostgreSQL 15 on
                continue
            settings[name] = str(row[0]) if row else ""
    ctx.export("readiness.postgres_wal", settings)
    return judge_pitr(settings)


_BACKUP = re.compile(
    r"\b(pg_dump(all)?|pg_basebackup|pgbackrest|wal-g|barman|restic|borg|"
    r"mysqldump|mongodump|redis-cli\s+(--rdb|bgsave)|aws\s+s3\s+(cp|sync)|rclone)\b",
    re.I,
)
_RESTORE = re.compile(
    r"\b(pg_restore|pgbackrest\s+[^\n]*restore|wal-g\s+backup-fetch|"
    r"restic\s+restore|borg\s+extract|psql\b[^\n]*<)",
    re.I,
)
_SCHEDULE = re.compile(
    r"(^|/)(crontab|[\w.-]*\.cron|[\w.-]*backup[\w.-]*\.(timer|service))$|"
    r"kind:\s*CronJob|schedule:\s*['\"]?[\d*/]",
    re.I | re.M,
)


_BACKUP_FILES = (".sh", ".bash", ".py", ".yml", ".yaml", ".timer", ".service", ".cron", ".conf",
                 ".toml")


@check(
    "RDY-091",
    "Backup (and restore) scripts or scheduled jobs exist",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("3.2.4",),
    evidence=Evidence.PRESENT,
)
def backup_jobs(ctx: Context) -> list[Finding]:
    """The repository contains a backup mechanism for its data stores — a script or service
    running ``pg_dump``/``pg_basebackup``/pgBackRest/WAL-G/Barman/restic (or a compose service
    whose image is such a tool) — ideally scheduled (cron, systemd timer, Kubernetes CronJob) and
    with a matching restore script (``pg_restore``, ``backup-fetch``, ``psql < dump``).

    A backup strategy that is not in the repository is usually not in place; a backup without
    a rehearsed restore is a hope, not a strategy.

    A product that keeps no data of its own (no database, cache or storage named in its code,
    dependencies, compose files, settings or infrastructure code) has nothing to back up: SKIP.

    Remediation: add ``scripts/backup.sh`` (``pg_dump -Fc`` to off-host storage) with a schedule,
    and ``scripts/restore.sh`` plus a periodic restore test into a scratch database.
    """
    if not data_store_hints(ctx):
        raise Skip("the product keeps no data of its own: no database, cache or storage is named "
                   "in its code, dependencies, compose files, settings or infrastructure code")
    backup: list[str] = []
    restore: list[str] = []
    scheduled: list[str] = []
    for rel in ctx.files.files:
        if "node_modules" in parts(rel) or rel.endswith((".md", ".rst", ".txt", ".lock")):
            continue
        name = rel.rsplit("/", 1)[-1]
        if not (name.endswith(_BACKUP_FILES) or name in ("Makefile", "crontab", "Justfile", "Procfile")):
            continue
        text = ctx.read(rel) or ""
        if rel.endswith(".py") and "backup" not in rel.lower():
            continue  # Python files only count when they are backup tooling
        if _BACKUP.search(text):
            backup.append(rel)
        if _RESTORE.search(text):
            restore.append(rel)
        if _SCHEDULE.search(rel) or (_SCHEDULE.search(text) and _BACKUP.search(text)):
            scheduled.append(rel)
    for proj, data in compose_docs(ctx):
        services = data.get("services")
        for name, svc in services.items() if isinstance(services, dict) else []:
            image = str(svc.get("image", "")) if isinstance(svc, dict) else ""
            if re.search(r"backup|pgbackrest|wal-g|barman|restic", f"{name} {image}", re.I):
                backup.append(f"{proj.loc('services', name)}: service {name}")
                scheduled.append(f"{proj.loc('services', name)}: service {name}")
    if not backup:
        return [
            failed(
                "no backup script, job or service for the data stores (pg_dump, "
                "pg_basebackup, pgBackRest, WAL-G, restic ...)"
            )
        ]
    findings: list[Finding] = [passed("backup (present, not executed; RDY-095 rehearses it): "
                                      + ", ".join(backup[:5]), location=backup[0],
                                      level=Evidence.PRESENT)]
    if not scheduled:
        findings.append(
            warned(
                "backups are not scheduled (no cron/timer/CronJob/backup service)",
                location=backup[0],
            )
        )
    if not restore:
        findings.append(
            warned(
                "no restore script (pg_restore, backup-fetch, psql < dump): "
                "restores are not rehearsed",
                location=backup[0],
            )
        )
    return findings


def _judge_rehearsal(run: BackupRun) -> list[Finding]:
    evidence = (f"server: {run.server} (two scratch databases, dropped afterwards: {run.dropped})\n"
                f"schema: {run.schema}\n$ {run.command}\ndump: {run.dump or '-'}\n"
                f"restore: $ {run.restore or '-'}\n" + "\n".join(
                    f"{t}: {n} -> {run.restored.get(t, 'missing')}" for t, n in sorted(run.source.items()))
                + f"\n--- output (tail) ---\n{run.log[-1500:]}")
    out: list[Finding] = []
    if not run.dropped:
        out.append(warned(f"a scratch database on {run.server} could not be dropped: drop "
                          "prodaudit_scratch_* by hand", evidence=evidence))
    if run.failure:
        return [failed(run.failure, evidence=evidence), *out]
    missing = sorted(set(run.source) - set(run.restored))
    differ = sorted(t for t in run.source if t in run.restored and run.restored[t] != run.source[t])
    if missing or differ:
        return [failed(f"the restored database differs: {len(missing)} table(s) missing, "
                       f"{len(differ)} with other row counts ({', '.join((missing + differ)[:5])})",
                       evidence=evidence), *out]
    rows = sum(run.source.values())
    return [passed(f"backup and restore tested: {run.command[:120]} "
                   f"→ {run.dump}; restored {len(run.restored)} table(s), {rows} row(s), identical "
                   "counts", evidence=evidence), *out]


@check(
    "RDY-095",
    "Backup and restore are tested on scratch databases",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("9.1.1",),
    evidence=Evidence.OBSERVED,
    exclusive=True,
    timeout=1200,
)
def backup_restore_tested(ctx: Context) -> list[Finding]:
    """The audit rehearses a backup: it creates a scratch PostgreSQL database
    (``prodaudit_scratch_…``, on ``PRODAUDIT_SCRATCH_DATABASE_URL``'s server, or on
    ``DATABASE_URL``'s with ``--allow-mutations``), builds the project's schema in it
    (``alembic upgrade head``) plus a probe table with rows, runs the project's backup command
    (``readiness.backup_command``, else the repository's shell script that runs ``pg_dump``,
    else ``pg_dump`` itself) with ``DATABASE_URL``, the libpq ``PG*`` variables and
    ``BACKUP_DIR`` pointing at it, restores the dump into a second scratch database
    (``readiness.restore_command`` with ``{dump}``/``{database_url}``, else ``pg_restore`` or
    ``psql``) and compares the tables and row counts. Both databases are always dropped.

    A backup that was never restored is a hope: dumps that miss tables, scripts that only work
    on one host, or formats nobody can read turn up during the incident.

    Remediation: make the backup script work from ``DATABASE_URL`` alone, keep a restore
    script, and rehearse the restore regularly (a scheduled restore into a scratch database).
    """
    return _judge_rehearsal(rehearse(ctx))


_APP_HINT = re.compile(r"api|backend|web|app|server|worker|frontend", re.I)
_STATEFUL = re.compile(r"postgres|mysql|mariadb|mongo|redis|valkey|rabbitmq|kafka|elastic", re.I)


@check(
    "RDY-092",
    "Single points of failure in compose are identified",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("9.2.1", "9.2.2"),
    evidence=Evidence.PARSED,
)
def single_points_of_failure(ctx: Context) -> list[Finding]:
    """Every compose service has a restart policy (``restart:`` or ``deploy.restart_policy``),
    and application services run more than one replica (``deploy.replicas``/``scale``). Stateful
    services with one instance are listed as single points of failure in the message (they need
    a backup and a failover plan, see RDY-091/RDY-094). A compose file the project documents as
    development-only (the same judgement as the config suite's Compose rules) is not judged.

    A service without restart policy stays down after a crash or a host reboot; a single API
    replica means every deploy and every crash is an outage.

    Remediation: ``restart: unless-stopped`` on every service; ``deploy.replicas: 2`` (behind a
    load balancer) for stateless services; managed or replicated PostgreSQL/Redis for state.
    """
    docs_ = compose_docs(ctx)
    if not docs_:
        raise Skip("no compose file with services")
    prod = [(p, d) for p, d in docs_ if not p.dev_only]
    if not prod:  # the production stack is described elsewhere (IaC, a platform)
        raise Skip("only development-only compose files: "
                   + "; ".join(f"{p.name}: {p.dev_only}" for p, _d in docs_))
    findings: list[Finding] = []
    spof: list[str] = []
    for proj, data in prod:
        services = data.get("services")
        assert isinstance(services, dict)
        for name, svc in services.items():
            if not isinstance(svc, dict):
                continue
            deploy = svc.get("deploy") if isinstance(svc.get("deploy"), dict) else {}
            assert isinstance(deploy, dict)
            restart = svc.get("restart") or (deploy.get("restart_policy") or {}).get("condition")
            if not restart or str(restart) == "no":
                findings.append(
                    failed(
                        f"service {name} has no restart policy",
                        location=proj.loc("services", name, "restart"),
                    )
                )
            replicas = deploy.get("replicas", svc.get("scale", 1))
            try:
                n = int(str(replicas))
            except (TypeError, ValueError):
                n = 1
            image = str(svc.get("image", ""))
            if n < 2:
                spof.append(name)
                if _APP_HINT.search(name) and not _STATEFUL.search(f"{name} {image}"):
                    findings.append(
                        warned(
                            f"service {name} runs a single replica: every crash "
                            "or redeploy is an outage",
                            location=proj.loc("services", name, "deploy", "replicas"),
                        )
                    )
    ctx.export("readiness.single_points_of_failure", spof)
    if not any(f.status.rank >= 2 for f in findings):
        findings.append(
            passed(
                "restart policies on every service; single-instance services: "
                f"{', '.join(spof) or 'none'}"
            )
        )
    return findings


def _doc_check(ctx: Context, pattern: str, what: str) -> list[Finding]:
    # a procedure counts when it says what to do; a heading alone is present (issue 18, _docs.py)
    return judge_document(ctx, what, pattern, pattern)


@check(
    "RDY-093",
    "Disaster recovery plan documented",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("9.1.4",),
    evidence=Evidence.PARSED,
)
def dr_plan(ctx: Context) -> list[Finding]:
    """The documentation has a disaster-recovery plan (a file or heading on disaster recovery,
    DR, business continuity, RTO/RPO).

    When the database host or the cloud region is gone, the plan says who decides, where the
    backups are, how long recovery may take (RTO) and how much data may be lost (RPO).

    Remediation: write ``docs/disaster-recovery.md`` with RTO/RPO targets, the restore procedure
    and the people involved; rehearse it once before launch.
    """
    return _doc_check(
        ctx, r"disaster|\bDR\b|business continuity|\bRTO\b|\bRPO\b", "disaster recovery plan"
    )


@check(
    "RDY-094",
    "Failover procedure documented",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("9.2.3",),
    evidence=Evidence.PARSED,
)
def failover_notes(ctx: Context) -> list[Finding]:
    """The documentation describes failover: a file or heading on failover, high availability,
    replica promotion or switchover. The audit cannot test a failover; it verifies the procedure
    exists.

    An undocumented failover is improvised during the outage, under pressure.

    Remediation: document how the database and Redis fail over (or are restored), how the API
    reconnects, and how to verify; rehearse it on staging.
    """
    return _doc_check(
        ctx, r"fail-?over|high availability|\bHA\b|switch-?over|promot", "failover procedure"
    )
