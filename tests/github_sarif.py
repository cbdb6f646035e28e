"""GitHub code scanning's documented constraints on an uploaded SARIF file, as a checker.

Sources (docs.github.com, "SARIF support for code scanning" and "SARIF results exceed limits"):
required properties (``$schema``, ``version`` 2.1.0, ``runs``; ``tool.driver.name`` and
``rules``; per rule ``id``, ``shortDescription.text``, ``fullDescription.text`` (each at most 1024
characters), ``help.text``; per result ``message.text``, ``locations`` with a ``physicalLocation``
whose ``artifactLocation.uri`` and ``region.startLine`` are given, ``partialFingerprints``; the
empty string is not accepted for a required property); limits (20 runs per file, 25,000 results
and 25,000 rules per run, 1,000 locations per result of which only 10 are kept, 20 tags per rule
of which 10 are shown, a rule ``name`` of at most 255 characters); the upload API and
``upload-sarif`` reject identifiers over 255 characters ("sarif identifier exceeds maximum length
of 255 characters"); ``defaultConfiguration.level`` is one of note, warning, error;
``security-severity`` is a number in (0, 10]; relative URIs are relative to the repository root
and a ``uriBaseId`` must be declared in ``originalUriBaseIds`` for the file to be valid SARIF.
"""

from __future__ import annotations

from typing import Any

LEVELS = {"none", "note", "warning", "error"}


def _text(obj: Any, key: str) -> str:
    return obj.get(key, {}).get("text", "") if isinstance(obj.get(key), dict) else ""


def github_problems(doc: dict[str, Any]) -> list[str]:
    """Every way ``doc`` breaks GitHub's documented constraints ([] when it is acceptable)."""
    out: list[str] = []
    if not doc.get("$schema"):
        out.append("$schema missing")
    if doc.get("version") != "2.1.0":
        out.append("version is not 2.1.0")
    runs = doc.get("runs") or []
    if not 1 <= len(runs) <= 20:
        out.append(f"{len(runs)} runs (1..20)")
    for ri, run in enumerate(runs):
        where = f"runs[{ri}]"
        driver = run.get("tool", {}).get("driver", {})
        if not driver.get("name"):
            out.append(f"{where}: tool.driver.name missing")
        rules = driver.get("rules")
        if not isinstance(rules, list):
            out.append(f"{where}: tool.driver.rules missing")
            rules = []
        if len(rules) > 25_000:
            out.append(f"{where}: {len(rules)} rules > 25000")
        ids = [r.get("id", "") for r in rules]
        if len(set(ids)) != len(ids):
            out.append(f"{where}: duplicate rule ids")
        bases = set((run.get("originalUriBaseIds") or {}).keys())
        for rule in rules:
            rid = rule.get("id", "")
            if not rid or len(rid) > 255:
                out.append(f"{where}: rule id {rid!r} empty or over 255 characters")
            if len(rule.get("name", "")) > 255:
                out.append(f"{rid}: name over 255 characters")
            for key in ("shortDescription", "fullDescription"):
                text = _text(rule, key)
                if not text or len(text) > 1024:
                    out.append(f"{rid}: {key}.text empty or over 1024 characters")
            if not _text(rule, "help"):
                out.append(f"{rid}: help.text missing")
            level = rule.get("defaultConfiguration", {}).get("level")
            if level is not None and level not in ("note", "warning", "error"):
                out.append(f"{rid}: defaultConfiguration.level {level!r}")
            props = rule.get("properties", {})
            if len(props.get("tags", [])) > 20:
                out.append(f"{rid}: more than 20 tags")
            if "security-severity" in props:
                try:
                    value = float(props["security-severity"])
                except (TypeError, ValueError):
                    value = -1.0
                if not 0.0 < value <= 10.0:
                    out.append(f"{rid}: security-severity {props['security-severity']!r} not in (0, 10]")
        results = run.get("results")
        if not isinstance(results, list):
            out.append(f"{where}: results missing")
            results = []
        if len(results) > 25_000:
            out.append(f"{where}: {len(results)} results > 25000")
        for i, res in enumerate(results):
            rw = f"{where}.results[{i}] ({res.get('ruleId')})"
            if res.get("ruleId") not in ids:
                out.append(f"{rw}: ruleId not a rule of the run")
            if "ruleIndex" in res and (
                not 0 <= res["ruleIndex"] < len(rules) or ids[res["ruleIndex"]] != res.get("ruleId")
            ):
                out.append(f"{rw}: ruleIndex does not point at the rule")
            if not _text(res, "message"):
                out.append(f"{rw}: message.text empty")
            if res.get("level", "warning") not in LEVELS:
                out.append(f"{rw}: level {res.get('level')!r}")
            locs = res.get("locations") or []
            if not 1 <= len(locs) <= 10:
                out.append(f"{rw}: {len(locs)} locations (GitHub needs 1, keeps at most 10)")
            for loc in locs[:1]:
                phys = loc.get("physicalLocation") or {}
                art = phys.get("artifactLocation") or {}
                uri = art.get("uri", "")
                if not uri:
                    out.append(f"{rw}: no physicalLocation.artifactLocation.uri")
                elif uri.startswith("/") or ("://" in uri and not uri.startswith("file://")):
                    out.append(f"{rw}: uri {uri!r} is neither relative nor a file URI")
                if art.get("uriBaseId") and art["uriBaseId"] not in bases:
                    out.append(f"{rw}: uriBaseId {art['uriBaseId']!r} not in originalUriBaseIds")
                start = (phys.get("region") or {}).get("startLine")
                if not isinstance(start, int) or start < 1:
                    out.append(f"{rw}: region.startLine missing")
            fps = res.get("partialFingerprints")
            if (
                not isinstance(fps, dict)
                or not fps
                or not all(isinstance(v, str) and v for v in fps.values())
            ):
                out.append(f"{rw}: partialFingerprints missing or empty")
    return out
