"""JSON Schemas of ``audit.json`` and of ``prodaudit.toml``, generated from pydantic models.

``audit.json`` is the serialised ``AuditRun`` (``model.py``, dataclasses): :class:`AuditDocument`
describes that serialisation field by field (a test keeps the two identical: every key ``to_dict``
writes is declared, nothing else is allowed). ``prodaudit.toml`` (or ``[tool.prodaudit]`` in
``pyproject.toml``) is validated by ``config.AuditConfig``; its schema is that model's, without
the keys only the command line sets.

Published in ``docs/schemas/``; regenerate with ``python -m prodaudit.report.schemas docs/schemas``
(``--check`` exits 1 when the published files are stale, which the tests also check).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SeverityName = Literal["critical", "high", "medium", "low", "info"]
StatusName = Literal["pass", "warn", "fail", "skip", "error"]
EvidenceName = Literal["observed", "parsed", "present"]
Verdict = Literal["GO", "CONDITIONAL GO", "NO-GO"]
BASE_URI = "https://github.com/prodaudit/prodaudit/blob/main/docs/schemas/"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindingDocument(_Doc):
    """One observation of a check."""

    status: StatusName
    message: str
    location: str = Field(description="`path:line[:col]` in the repository, `METHOD URL`, or a label")
    evidence: str = Field(description="redacted excerpt or request/response exchange with a curl command")
    remediation: str
    severity: SeverityName | None = Field(description="overrides the check's severity for this finding")
    rule: str = Field(description="optional sub-rule id (e.g. a hadolint-compatible id, a probe variant)")
    level: EvidenceName | None = Field(
        None, description="how this observation was made, when it differs from the check's level"
    )


class ResultDocument(_Doc):
    """The result of one check."""

    id: str = Field(pattern=r"^[A-Z]{3}-\d{3}$")
    suite: str
    title: str = Field(description="the requirement the check verifies")
    severity: SeverityName = Field(description="the check's declared severity")
    effective_severity: SeverityName | None = Field(
        None,
        description="the severity shown in every report: the highest severity of the failing "
        "findings, else the check's (derived; written since prodaudit 0.1.0's report rework)",
    )
    status: StatusName
    duration_s: float = Field(ge=0, description="the check's own time, without waiting for shared facts")
    waited_s: float = Field(0.0, ge=0, description="time spent waiting for shared facts other checks built")
    started_s: float | None = Field(None, description="start, in seconds after the first check started")
    evidence: EvidenceName = Field(
        "parsed", description="the strongest evidence level the check reaches when it passes"
    )
    evidence_level: EvidenceName | None = Field(
        None, description="how strongly this PASS was established (null unless the status is pass)"
    )
    reason: str = Field(description="why the check was skipped or errored")
    checklist: list[str]
    references: list[str]
    doc: str
    waived: bool
    waiver: str
    findings: list[FindingDocument]


class RefusalDocument(_Doc):
    """One request the HTTP layer refused to send."""

    check: str = Field(description="the check (or `(setup)`, `(no check)`) that asked for it")
    request: str = Field(description="`METHOD URL`")
    kind: str = Field(description="`mutation` (read-only audit), `excluded` (`[probes] exclude`), "
                      "`budget` (the check's probe budget) or `llm-budget` (`probes.max_llm_calls`)")
    reason: str


class RefusedDocument(_Doc):
    """The requests the audit refused to send, and why."""

    total: int = Field(0, ge=0)
    by_kind: dict[str, int] = Field(default_factory=dict)
    by_check: dict[str, dict[str, int]] = Field(default_factory=dict, description="check -> kind -> count")
    examples: list[RefusalDocument] = Field(default_factory=list, description="the first 50 refusals")


class RequestsDocument(_Doc):
    """The request ledger (``http.py``): every request the audit sent to the target (redirect hops
    included), per check and per method, and every request it refused to send. Empty (``{}``) for
    runs without a live target written before the ledger existed."""

    total: int = Field(0, ge=0, description="requests sent")
    by_method: dict[str, int] = Field(default_factory=dict)
    by_check: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="check id (or `(setup)`: discovery, logins) -> method -> count"
    )
    top_checks: list[tuple[str, int]] = Field(default_factory=list, description="the ten busiest checks")
    llm_calls: int = Field(0, ge=0, description="potentially billable LLM calls")
    refused: RefusedDocument = Field(default_factory=RefusedDocument)


class AuditDocument(_Doc):
    """audit.json: one audit run, the source of truth of every report."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"$id": BASE_URI + "audit.schema.json"},
    )

    schema_: Literal["prodaudit/audit/1"] = Field(alias="schema")
    run_id: str
    decision: Verdict
    exit_code: int = Field(ge=0, le=2)
    decision_reasons: list[str]
    tool_version: str
    target: dict[str, Any] = Field(description="repo, base_url, frontend_url, env_file, compose_files, ...")
    profile: Literal["production", "staging", "development"]
    config_digest: str
    started_at: str
    finished_at: str
    results: list[ResultDocument]
    facts: dict[str, Any] = Field(description="data the checks exported (operations, env_graph, ...)")
    extras: dict[str, Any] = Field(
        description="governance (waivers, attestations, baseline, checklist_map) and the source map"
    )
    requests: RequestsDocument = Field(
        default_factory=RequestsDocument,
        description="the request ledger: what the audit sent to the target and what it refused to send",
    )


def audit_schema() -> dict[str, Any]:
    schema = AuditDocument.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


#: keys of AuditConfig that only the command line or the loader set
_NOT_IN_FILE = ("config_file",)


def config_schema() -> dict[str, Any]:
    from prodaudit.config import AuditConfig

    schema = AuditConfig.model_json_schema(mode="validation")
    for key in _NOT_IN_FILE:
        schema.get("properties", {}).pop(key, None)
    repo = schema.get("properties", {}).get("repo", {})
    if repo.pop("default", None) is not None:  # an absolute path of this checkout: never published
        repo["description"] = ("the audited repository (default: the bundled reference target, "
                               "examples/ultra-mvp)")
    schema["title"] = "prodaudit.toml"
    schema["description"] = (
        "prodaudit's configuration: prodaudit.toml at the root of the audited repository, or "
        "[tool.prodaudit] in its pyproject.toml. Command-line options override it; secrets are "
        "named by environment variable, never written here. Relative paths are relative to the file."
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE_URI + "prodaudit.schema.json",
        **schema,
    }


def fleet_schema() -> dict[str, Any]:
    """The fleet's audit.json (``report/fleet/schema.py``)."""
    from prodaudit.report.fleet.schema import fleet_schema as schema

    return schema()


SCHEMAS = {"audit.schema.json": audit_schema, "prodaudit.schema.json": config_schema,
           "fleet.schema.json": fleet_schema}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=2, sort_keys=True) + "\n"


def stale(directory: Path) -> list[str]:
    """The published schemas in ``directory`` that differ from the generated ones."""
    out = []
    for name in SCHEMAS:
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != render(name):
            out.append(name)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if not a.startswith("--")]
    directory = Path(paths[0] if paths else "docs/schemas")
    if check:
        old = stale(directory)
        for name in old:
            print(f"{directory / name}: stale (regenerate: python -m prodaudit.report.schemas {directory})")
        return 1 if old else 0
    directory.mkdir(parents=True, exist_ok=True)
    for name in SCHEMAS:
        (directory / name).write_text(render(name), encoding="utf-8")
        print(directory / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
