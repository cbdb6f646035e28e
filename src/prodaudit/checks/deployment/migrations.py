"""DEP-040–049: alembic migrations (single head, fresh upgrade, current revision, downgrades,
destructive operations, models vs. migrations)."""

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
    skipped,
    warned,
)
from prodaudit.checks.deployment._alembic import ScratchRun, StepResult, loc, project, scratch_run
from prodaudit.checks.deployment._common import rel
from prodaudit.checks.deployment._schema_drift import static_comparison
from prodaudit.product.database import database_url, is_postgres, sqlalchemy_url


@check("DEP-040", "Alembic migrations have a single head", severity=Severity.HIGH,
       needs=("repo",), checklist=("3.2.1",), evidence=Evidence.PARSED)
def single_head(ctx: Context) -> list[Finding]:
    """The alembic revision graph has exactly one head and every ``down_revision`` exists.

    Two heads (two branches created from the same parent, typically by two feature branches
    merged without ``alembic merge``) make ``alembic upgrade head`` refuse to run, so the
    deployment's migration step fails. The graph is read from the revision files without
    importing them.

    Remediation: run ``alembic merge -m "merge heads" <head1> <head2>`` and commit the merge
    revision; fix any ``down_revision`` that names a revision that does not exist.
    """
    proj = project(ctx)
    out: list[Finding] = [errored(f"{rel(ctx, p)}: {why}", location=rel(ctx, p))
                          for p, why in proj.problems]
    if not proj.revisions:
        raise Skip(f"no revision files under {', '.join(rel(ctx, d) for d in proj.version_dirs)}")
    for r, d in proj.dangling:
        out.append(failed(f"revision {r.rev} names down_revision {d!r}, which does not exist",
                          location=loc(ctx, r)))
    heads = proj.heads
    if len(heads) > 1:
        listing = "\n".join(f"{h.rev}  ({loc(ctx, h)}, down_revision {', '.join(h.down) or 'None'})"
                            for h in heads)
        out.append(failed(f"{len(heads)} heads: {', '.join(h.rev for h in heads)}",
                          location=loc(ctx, heads[0]), evidence="heads:\n" + listing))
    elif not heads:
        out.append(failed("no head: the revision graph is circular", location=rel(ctx, proj.ini)))
    if not any(f.status.rank >= 3 for f in out):
        out.append(passed(f"{len(proj.revisions)} revisions, single head {heads[0].rev}",
                          location=loc(ctx, heads[0])))
    return out


def _step_evidence(run: ScratchRun, step: StepResult) -> str:
    parts = [f"database: {run.server} (scratch, dropped afterwards: {run.dropped})",
             f"step: alembic {step.step}", f"error: {step.error}"]
    if step.trace:
        parts.append("traceback (tail):\n" + step.trace.strip())
    if run.log.strip():
        parts.append("alembic log (tail):\n" + run.log.strip()[-1500:])
    return "\n".join(parts)


@check("DEP-041", "upgrade head succeeds on a fresh PostgreSQL database", severity=Severity.HIGH,
       needs=("repo",), checklist=("3.2.1", "4.2.2"), evidence=Evidence.OBSERVED)
def fresh_upgrade(ctx: Context) -> list[Finding]:
    """``alembic upgrade head`` succeeds on an empty scratch PostgreSQL database, and a round
    trip (``downgrade base``, then ``upgrade head`` again) works.

    A migration chain that only ever ran against a developer's long-lived database often fails
    on an empty one (missing extension, a data migration that assumes rows, SQLite-only SQL).
    The check creates a uniquely named database ``prodaudit_scratch_…`` on the PostgreSQL server
    of ``database.scratch_url_env`` (default ``PRODAUDIT_SCRATCH_DATABASE_URL``) or, unset, of
    ``DATABASE_URL``, runs alembic in a subprocess with the target's ``alembic.ini``, and always
    drops the database. The role needs ``CREATEDB``.

    Remediation: run the failing migration against an empty PostgreSQL database locally
    (``createdb scratch && DATABASE_URL=... alembic upgrade head``), fix it, and add that run to
    CI.
    """
    proj = project(ctx)
    if not proj.revisions:
        raise Skip("no revision files")
    run = scratch_run(ctx)
    out: list[Finding] = []
    location = rel(ctx, proj.ini)
    if run.failure:
        return [failed(f"alembic did not complete on the scratch database: {run.failure}",
                       location=location,
                       evidence=f"database: {run.server}\nalembic log (tail):\n{run.log[-2000:]}")]
    up = run.get("upgrade")
    if up is None or not up.ok:
        err = up.error if up else "no result"
        first = err.splitlines()[0][:200] if err else "?"
        return [failed(f"alembic upgrade head failed on a fresh database: {first}",
                       location=location, evidence=_step_evidence(run, up) if up else run.log)]
    out.append(passed(f"alembic upgrade head succeeded on a fresh database ({run.server})",
                      location=location))
    down = run.get("downgrade")
    if down is not None and not down.ok:
        out.append(warned(f"alembic downgrade base failed: {down.error.splitlines()[0][:200]}",
                          location=location, evidence=_step_evidence(run, down)))
    again = run.get("reupgrade")
    if down is not None and down.ok and again is not None and not again.ok:
        out.append(failed("upgrade head after downgrade base failed (the round trip is broken): "
                          f"{again.error.splitlines()[0][:200]}", location=location,
                          evidence=_step_evidence(run, again)))
    elif down is not None and down.ok and again is not None:
        out.append(passed("round trip downgrade base → upgrade head succeeded", location=location))
    if not run.dropped:
        out.append(warned(f"the scratch database on {run.server} could not be dropped: drop it "
                          "by hand", location=location))
    return out


@check("DEP-042", "The database is at the head revision", severity=Severity.HIGH,
       needs=("repo", "database"), checklist=("3.2.1",), final=True, evidence=Evidence.OBSERVED)
def current_is_head(ctx: Context) -> list[Finding]:
    """The production database's ``alembic_version`` equals the head of the migration chain.

    A database behind head means the deployed code expects tables or columns that do not exist
    (errors at the first request that touches them); one that is ahead or unknown was migrated
    from another branch.

    The check runs after every other check (``final``): when the audit started the stack itself
    (DEP-030), its migration step has run by then.

    Remediation: run ``alembic upgrade head`` as a release step before the new version starts
    (or at startup under an advisory lock), and fail the release when it fails.
    """
    proj = project(ctx)
    heads = sorted(h.rev for h in proj.heads)
    if not heads:
        raise Skip("no revision files")
    url = database_url(ctx)
    name = ctx.cfg.database.url_env
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        from pathlib import Path

        path = Path(url[len("sqlite:///"):])
        if not path.is_absolute() or not path.is_file():
            raise Skip(f"{name} is a SQLite file not readable from here ({path})")
    # sqlalchemy is in the prodaudit[database] extra: imported where used
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    kwargs: dict[str, object] = {"poolclass": NullPool}
    if is_postgres(url):
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(sqlalchemy_url(url), **kwargs)
    except (SQLAlchemyError, ImportError) as exc:
        return [errored(f"{name} is not a URL SQLAlchemy can open: {type(exc).__name__}: {exc}")]
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return [failed(f"the database of {name} has no alembic_version table: it was never "
                               f"migrated (head is {', '.join(heads)})", location=f"env {name}")]
            current = sorted(str(v) for v in conn.execute(
                text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0][:300]
        return [failed(f"cannot read the current revision through {name}: {first}",
                       location=f"env {name}")]
    finally:
        engine.dispose()
    evidence = f"alembic_version: {', '.join(current) or '(empty)'}\nhead(s): {', '.join(heads)}"
    if current == heads:
        return [passed(f"the database is at head {', '.join(heads)}", location=f"env {name}",
                       evidence=evidence)]
    known = proj.by_rev
    unknown = [c for c in current if c not in known]
    why = (f"unknown revision(s) {', '.join(unknown)} (not in this code's migrations)" if unknown
           else f"behind head: at {', '.join(current) or 'nothing'}, head is {', '.join(heads)}")
    return [failed(f"the database is not at head: {why}", location=f"env {name}",
                   evidence=evidence)]


@check("DEP-043", "Every migration has a downgrade", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("3.2.1", "3.2.5"), evidence=Evidence.PARSED)
def downgrades(ctx: Context) -> list[Finding]:
    """Every alembic revision defines a ``downgrade()`` that does something.

    Rolling back a bad release needs the schema rolled back too; a revision with an empty
    ``downgrade()`` (or one that only raises) turns a rollback into a restore from backup.

    Remediation: write the inverse operations in ``downgrade()``; where a change is truly
    irreversible, document the restore procedure in the runbook and waive this check for that
    revision with a reason.
    """
    proj = project(ctx)
    if not proj.revisions:
        raise Skip("no revision files")
    out = [failed(f"revision {r.rev}: {r.downgrade_note}", location=loc(ctx, r))
           for r in proj.revisions if not r.has_downgrade]
    if not out:
        out.append(passed(f"all {len(proj.revisions)} revisions define a downgrade()",
                          location=rel(ctx, proj.version_dirs[0])))
    return out


@check("DEP-044", "Destructive migration operations are flagged", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("3.2.1",), evidence=Evidence.PARSED)
def destructive(ctx: Context) -> list[Finding]:
    """No ``upgrade()`` drops tables or columns or changes column types without review: each
    such operation is a WARN with its revision.

    Destructive operations lose data on upgrade and break the previous release during a rolling
    deployment (old code still reads the dropped column). They are legitimate when planned
    (expand/contract), so they are warnings to review, not failures.

    Remediation: use expand/contract: stop using the column in one release, drop it in a later
    one; back up the affected tables first; waive the warning with the reason once reviewed.
    """
    proj = project(ctx)
    if not proj.revisions:
        raise Skip("no revision files")
    out: list[Finding] = []
    for r in proj.revisions:
        for line, what in r.destructive:
            out.append(warned(f"revision {r.rev}: {what}", location=f"{rel(ctx, r.path)}:{line}"))
    if not out:
        out.append(passed(f"no drop_table, drop_column or column type change in the upgrade() "
                          f"of {len(proj.revisions)} revisions",
                          location=rel(ctx, proj.version_dirs[0])))
    return out


@check("DEP-045", "Models and migrations agree (autogenerate finds no difference)",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("3.2.1", "1.1.4"), evidence=Evidence.OBSERVED)
def models_match(ctx: Context) -> list[Finding]:
    """After ``upgrade head`` on the scratch database, ``alembic check`` (autogenerate) finds no
    difference between the target's SQLAlchemy models and the migrated schema.

    A model change without a migration works in development (``create_all``) and fails in
    production. This needs the target's metadata to be importable by its ``env.py``
    (``target_metadata``); otherwise the check is SKIP.

    Without a scratch database (no server, no ``--allow-mutations``, no alembic installed) the
    check compares from the source instead, and its evidence says so: the ``upgrade()``
    operations of every revision replayed in revision order (``create_table``, ``add_column``,
    ``drop_column``, ``drop_table``, ``alter_column(new_column_name=)``, ``rename_table``,
    ``batch_alter_table`` blocks) against the tables and columns the models declare
    (``__tablename__``, ``Column``/``mapped_column``/``Mapped[...]``, mixins and abstract bases
    of the repository, ``Table(...)`` objects, SQLModel ``table=True`` classes named by
    ``__tablename__``, by a repository base's ``declared_attr`` that returns ``cls.__name__``
    as it is or lowercased, or by SQLModel's default) under the directory of ``alembic.ini``. A
    column or table on one side only is a FAIL at its line (a migrated table no model declares
    is a WARN: it may be managed outside the ORM). Only names are compared. Whatever the replay
    cannot follow (SQL in ``op.execute``, names that are not literals, operations under
    ``if``/``for``, other ``declared_attr``, ``__table__``, reflection, several metadata, bases
    outside the repository) leaves that table, or the comparison, SKIP with the reason; PASS
    needs every model table matched column by column.

    Remediation: run ``alembic revision --autogenerate -m "..."``, review the generated
    revision, and commit it with the model change.
    """
    proj = project(ctx)
    if not proj.revisions:
        raise Skip("no revision files")
    try:
        run = scratch_run(ctx)
    except Skip as exc:
        return static_comparison(ctx, proj, f"no scratch database: {exc.reason}")
    except ModuleNotFoundError as exc:
        return static_comparison(ctx, proj, f"alembic is not installed here ({exc})")
    up = run.get("upgrade")
    if run.failure or up is None or not up.ok:
        raise Skip("upgrade head did not succeed on the scratch database (see DEP-041)")
    chk = run.get("check")
    location = rel(ctx, proj.ini)
    if chk is None:
        raise Skip("alembic check did not run")
    if chk.ok:
        return [passed("alembic check: no difference between the models and the migrations",
                       location=location)]
    if "AutogenerateDiffsDetected" in chk.error:
        return [failed("the models differ from the migrated schema: "
                       f"{chk.error.split(':', 1)[-1].strip()[:300]}", location=location,
                       evidence=_step_evidence(run, chk))]
    if "MetaData" in chk.error or "target_metadata" in chk.error:
        return [skipped("env.py provides no target_metadata: models cannot be compared",
                        location=location)]
    return [errored(f"alembic check failed: {chk.error.splitlines()[0][:300]}", location=location,
                    evidence=_step_evidence(run, chk))]
