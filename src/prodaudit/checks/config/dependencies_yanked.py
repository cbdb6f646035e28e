"""CFG-067: no pinned version is yanked from the package index."""

from __future__ import annotations

from prodaudit import pkgindex
from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    skipped,
)
from prodaudit.product.dependencies import pinned_packages


@check("CFG-067", "No pinned dependency version is yanked", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("2.2.1",), references=("CWE-1104",), timeout=180,
       evidence=Evidence.OBSERVED)
def yanked_pins(ctx: Context) -> list[Finding]:
    """No exact version in a lock or production requirements file (the entries CFG-063 reads,
    each at its ``path:line``) is yanked from the package index (PEP 592). The index is asked
    through its PEP 691 JSON simple API, ``GET <index>/<name>/`` with ``Accept:
    application/vnd.pypi.simple.v1+json``, where each file carries ``yanked``: false or the
    maintainers' reason; a version is yanked when all of its files are. The index is
    ``package_index`` in the configuration (a policy key: the release manager's, not the audited
    repository's), else ``$PRODAUDIT_PACKAGE_INDEX``, else ``https://pypi.org/simple/``.
    Whether it answers is probed once per run (the shared reachability probe); unreachable, the
    check is SKIP with the reason. Every
    lookup is counted and bounded (``prodaudit.pkgindex``: packages per run, seconds for all,
    bytes and seconds per answer; ``facts.package_index`` in audit.json), and answers are cached
    for 12 hours. PASS only when every pinned package was looked up and none is yanked; a
    package the index does not have, or could not be asked about, is reported SKIP by name.

    Maintainers yank a release that is broken, insecure or installs on the wrong Python (a wrong
    ``requires-python``): ``pip install name==version`` still installs it, silently in a lock
    file, so the deployment ships what its authors withdrew.

    Remediation: pin the next release that is not yanked (the finding names the reason), re-lock,
    and rebuild.
    """
    pins = pinned_packages(ctx)
    if not pins:
        raise Skip("no pinned dependency (lock or requirements file) to look up")
    down = pkgindex.index_unavailable(ctx)
    if down:
        raise Skip(f"yanked versions not verified: the package index {pkgindex.index_url(ctx)} "
                   f"cannot be used: {down}")
    found = pkgindex.lookup(ctx, [p.name for p in pins])
    out: list[Finding] = []
    unknown: list[str] = []
    checked: set[tuple[str, str]] = set()
    for pin in pins:
        answer = found.answers.get(pin.name)
        if answer is None:
            continue
        reason = pkgindex.yank_reason(answer, pin.version)
        if reason is not None:
            out.append(failed(
                f"{pin.name} {pin.version} is yanked from {found.index}: {reason}",
                location=pin.location,
                remediation=f"pin a release of {pin.name} that is not yanked and re-lock"))
        elif not pkgindex.is_listed(answer, pin.version):
            unknown.append(f"{pin.name} {pin.version} ({pin.location})")
            continue
        checked.add((pin.name, pin.version))
    if found.missing:
        names = ", ".join(f"{n}: {why}" for n, why in sorted(found.missing.items())[:8])
        more = f" and {len(found.missing) - 8} more" if len(found.missing) > 8 else ""
        out.append(skipped(f"{len(found.missing)} package(s) not looked up on {found.index}: "
                           f"{names}{more}"))
    if unknown:
        out.append(skipped(f"{len(unknown)} pinned version(s) the index does not list: "
                           f"{', '.join(unknown[:8])}"))
    if not checked and not any(f.status.value == "fail" for f in out):
        raise Skip(f"no pinned version could be looked up on {found.index}"
                   + (f": {out[0].message}" if out else ""))
    if not out:
        note = f" ({found.from_cache} answer(s) from the cache)" if found.from_cache else ""
        out.append(passed(f"{len(checked)} pinned version(s) of {len({n for n, _ in checked})} "
                          f"package(s) looked up on {found.index}: none yanked{note}"))
    return out
