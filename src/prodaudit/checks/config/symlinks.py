"""CFG-080: symbolic links that leave the audited repository (never followed, never read)."""

from __future__ import annotations

import os
from pathlib import Path

from prodaudit.context import Context
from prodaudit.model import Evidence, Finding, Severity
from prodaudit.outcome import failed, passed, warned
from prodaudit.registry import check


def _enclosing_worktree(root: Path) -> str | None:
    """The resolved directory of the git work tree that contains ``root`` from above (``--repo``
    is a sub-directory of a larger checkout), or None."""
    real = Path(os.path.realpath(root))
    for parent in real.parents:
        if (parent / ".git").exists():
            return str(parent)
    return None


@check("CFG-080", "Repository symlinks stay inside the repository", severity=Severity.MEDIUM,
       needs=("repo",), references=("CWE-59", "CWE-61"), evidence=Evidence.PARSED)
def symlinks_inside(ctx: Context) -> list[Finding]:
    """Every symbolic link of the repository (to a file or a directory, tracked by git or not)
    resolves inside the repository.

    prodaudit never follows such a link: what it points at is not audited (a link to
    ``/etc/passwd`` or to a home directory is never read, and none of its content reaches a
    report), and it does not ship either: ``docker build`` copies the link, not the file, so the
    image gets a dangling link, while tools that do follow links (``pip`` sdists, ``tar -h``,
    some CI caches) pull a file of the build machine into the artifact. A link that points into
    the enclosing checkout (``--repo`` is a sub-directory) is a WARN: the file exists in the
    product, it is just outside this audit.

    Remediation: replace the link with the file it points to (or generate the file in the
    build), or audit the directory that contains both (``--repo``).
    """
    index = ctx.files
    links = list(index.outside_links)
    enclosing = _enclosing_worktree(ctx.repo) if links else None
    out: list[Finding] = []
    for link, target in links:
        try:
            literal = os.readlink(ctx.repo / link)
        except OSError:
            literal = target
        shown = literal if literal == target else f"{literal} (resolves to {target})"
        kind = "directory" if os.path.isdir(target) else "file" if os.path.exists(target) else "path"
        where = f"{link} -> {shown}"
        if enclosing and (target == enclosing or target.startswith(enclosing + os.sep)):
            out.append(warned(
                f"{link}: symbolic link to the {kind} {target}, outside --repo but inside the "
                f"enclosing checkout {enclosing}; not audited", location=link, evidence=where))
        else:
            out.append(failed(
                f"{link}: symbolic link to the {kind} {target} outside the repository; not "
                "followed or read", location=link, evidence=where))
    if not out:
        out.append(passed(f"{len(index.files)} files indexed; no symbolic link leads outside the "
                          f"repository ({index.real_root})"))
    return out
