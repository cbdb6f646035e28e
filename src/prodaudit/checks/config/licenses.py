"""CFG-064: licenses of the installed dependencies of a target environment."""

from __future__ import annotations

import re
from email.parser import HeaderParser
from pathlib import Path

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
    warned,
)
from prodaudit.product.dependencies import pinned_packages

_CLASSIFIER_MAP = (
    ("GNU Affero General Public License", "AGPL"),
    ("GNU Lesser General Public License", "LGPL"),
    ("GNU Library or Lesser General Public License", "LGPL"),
    ("GNU General Public License", "GPL"),
    ("Server Side Public License", "SSPL"),
)


def site_packages(path: Path) -> list[Path]:
    """The site-packages directories of a venv (or the directory itself if it holds dist-infos)."""
    if any(path.glob("*.dist-info")):
        return [path]
    found = sorted(path.glob("lib/python*/site-packages")) + sorted(path.glob("Lib/site-packages"))
    return [p for p in found if p.is_dir()]


def _dist_name(dist: Path) -> str:
    """Canonical project name of a ``NAME-VERSION.dist-info`` directory."""
    from packaging.utils import canonicalize_name

    return canonicalize_name(dist.name[: -len(".dist-info")].rsplit("-", 1)[0])


def license_of(meta_text: str) -> list[str]:
    """License identifiers of a METADATA file: License-Expression, License (short), classifiers."""
    msg = HeaderParser().parsestr(meta_text)
    out: list[str] = []
    expr = msg.get("License-Expression")
    if expr:
        out.append(expr.strip())
    lic = (msg.get("License") or "").strip()
    if lic and lic.upper() != "UNKNOWN" and not out:
        first = lic.splitlines()[0].strip()
        if len(first) <= 100:
            out.append(first)
    for cls in msg.get_all("Classifier") or []:
        if cls.startswith("License ::") and cls.split("::")[-1].strip() != "OSI Approved":
            out.append(cls.split("::")[-1].strip())
    return out


def _tokens(text: str) -> set[str]:
    """Family tokens of a license string: GPL, LGPL, AGPL, SSPL, MIT, ..."""
    t = text
    for phrase, tok in _CLASSIFIER_MAP:
        t = t.replace(phrase, f" {tok} ")
    return {m.group(0).upper() for m in re.finditer(r"[A-Za-z][A-Za-z0-9.+-]*", t)} | {
        re.sub(r"[-V]?\d.*$", "", m.group(0).upper())
        for m in re.finditer(r"[A-Za-z]+[-vV]?\d[\w.+-]*", t)
    }


def _matches(license_text: str, patterns: list[str]) -> str | None:
    toks = _tokens(license_text)
    base = {re.sub(r"(-ONLY|-OR-LATER|\+)$", "", x) for x in toks}
    base |= {re.sub(r"-\d.*$", "", x) for x in base}
    for pat in patterns:
        p = pat.upper()
        if p in toks or p in base:
            return pat
    return None


def classify(licenses: list[str], allow: list[str], deny: list[str]) -> tuple[str, str]:
    """(status, reason): ``deny`` | ``allow`` | ``unlisted`` | ``unknown``. An SPDX ``OR``
    expression is fine when one alternative is acceptable."""
    if not licenses:
        return "unknown", "no License, License-Expression or license classifier"
    alternatives = [a.strip(" ()") for lic in licenses[:1] for a in re.split(r"\s+OR\s+", lic)]
    if len(alternatives) > 1:
        ok = [a for a in alternatives if not _matches(a, deny)]
        if ok:
            licenses = ok + licenses[1:]
    for lic in licenses:
        hit = _matches(lic, deny)
        if hit:
            return "deny", f"{lic} (denied: {hit})"
    if allow:
        if any(_matches(lic, allow) for lic in licenses):
            return "allow", "; ".join(licenses)
        return "unlisted", "; ".join(licenses)
    return "allow", "; ".join(licenses)


@check("CFG-064", "Dependency licenses comply with policy", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.2.4",), references=("SPDX",), evidence=Evidence.PARSED)
def license_compliance(ctx: Context) -> list[Finding]:
    """The packages installed in the target environment (``licenses.target_venv``: a virtualenv or
    a site-packages directory) carry no license from ``licenses.deny`` (default AGPL, GPL, SSPL —
    LGPL is not GPL) and, when ``licenses.allow`` is set, only allowed ones; a package without
    license metadata is a WARN. Read from ``*.dist-info/METADATA``: ``License-Expression``,
    ``License`` and the ``License ::`` classifiers.

    A copyleft dependency in a proprietary network service can oblige you to publish your source
    (AGPL, SSPL) or restrict distribution of images that contain it (GPL).

    Remediation: replace the dependency, obtain a commercial license, or record a waiver signed
    off by legal; fix unknown ones by checking the project's license file.
    """
    venv = ctx.cfg.licenses.target_venv
    if venv is None:
        raise Skip("licenses.target_venv not set: installed dependency licenses not verified")
    if not venv.is_absolute():
        venv = ctx.repo / venv
    dirs = site_packages(venv)
    if not dirs:
        return [errored(f"licenses.target_venv {venv}: no site-packages with *.dist-info found")]
    allow, deny = ctx.cfg.licenses.allow, ctx.cfg.licenses.deny
    wanted: set[str] | None = None
    if ctx.cfg.licenses.scope == "pinned":
        from packaging.utils import canonicalize_name

        wanted = {canonicalize_name(p.name) for p in pinned_packages(ctx)}
        if not wanted:
            raise Skip("licenses.scope is 'pinned' but the repository pins no Python package")
    out: list[Finding] = []
    total = 0
    for sp in dirs:
        for dist in sorted(sp.glob("*.dist-info")):
            meta = dist / "METADATA"
            if wanted is not None and _dist_name(dist) not in wanted:
                continue
            total += 1
            try:
                text = meta.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                out.append(errored(f"{dist.name}: METADATA unreadable: {exc.strerror}",
                                   location=str(meta)))
                continue
            msg = HeaderParser().parsestr(text)
            name = f"{msg.get('Name', dist.name)} {msg.get('Version', '')}".strip()
            status, reason = classify(license_of(text), allow, deny)
            if status == "deny":
                out.append(failed(f"{name}: {reason}", location=str(meta)))
            elif status == "unlisted":
                out.append(warned(f"{name}: license {reason} is not in licenses.allow",
                                  location=str(meta)))
            elif status == "unknown":
                out.append(warned(f"{name}: license unknown ({reason})", location=str(meta)))
    if not total:
        return [errored(f"{venv}: no installed distribution found")]
    if not any(f.status.value in ("fail", "warn", "error") for f in out):
        scope = " pinned by the repository" if wanted is not None else ""
        out.append(passed(f"{total} installed distribution(s){scope} in {venv}: licenses allowed "
                          f"(deny: {', '.join(deny) or '-'}; allow: {', '.join(allow) or 'any'})"))
    return out
