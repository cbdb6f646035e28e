"""RDY-060–079: the target's documentation — README sections, API documentation completeness,
and one check per operational document (found by file name or heading)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

from prodaudit.checks.api import Context, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.checks.readiness._backend import backend_modules
from prodaudit.checks.readiness._scan import docs, find_doc_topic

_README_SECTIONS = {
    "setup": r"setup|set up|install|getting started|quick ?start|prerequisites|requirements|"
             r"local development|develop(ing)? locally",
    "run": r"\brun|usage|development|local|start(ing)?\b|how to use|getting started|quick ?start",
    "deploy": r"deploy|production|release|hosting|docker",
}


@check(
    "RDY-060",
    "README explains setup, running and deployment",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("6.1.1", "6.2.2"),
)
def readme(ctx: Context) -> list[Finding]:
    """The repository root has a README with sections (headings) for setup/installation,
    running/usage and deployment.

    The README is the entry point for every new developer and for whoever is on call; without
    setup and run instructions onboarding is tribal knowledge.

    Remediation: add README sections "Setup" (prerequisites, install), "Running locally"
    (commands, env file) and "Deployment" (how production is built and released).
    """
    readmes = [
        rel
        for rel in ctx.files.files
        if "/" not in rel and re.match(r"readme(\.(md|rst|txt|adoc|markdown))?$", rel, re.I)
    ]
    if not readmes:
        return [failed("no README at the repository root")]
    rel = readmes[0]
    heads = [h for h in docs(ctx).headings if h.path == rel]
    missing = [
        name
        for name, rx in _README_SECTIONS.items()
        if not any(re.search(rx, h.text, re.I) for h in heads)
    ]
    if missing:
        return [
            failed(
                f"{rel} has no {', '.join(missing)} section ({len(heads)} headings: "
                f"{', '.join(h.text for h in heads[:8])})",
                location=rel,
            )
        ]
    found = {
        name: next(h for h in heads if re.search(rx, h.text, re.I))
        for name, rx in _README_SECTIONS.items()
    }
    return [
        passed(
            f"{rel}: " + ", ".join(f"{n} → '{h.text}' (line {h.line})" for n, h in found.items()),
            location=rel,
        )
    ]


@check(
    "RDY-061",
    "API documentation is complete (summaries and error responses)",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("6.1.2",),
)
async def api_docs(ctx: Context) -> list[Finding]:
    """Every operation of the OpenAPI document has a summary or description, and documents at
    least one error response (a 4xx/5xx other than FastAPI's automatic 422). A summary that is
    just the function name (FastAPI's default: ``create_note`` → "Create Note", matched against
    the ``operationId``) does not count.

    Generated clients, the interactive docs and API consumers rely on the document: an
    operation without a description or without its 401/404/429 answers makes clients guess.

    Remediation: give every route ``summary=``/a docstring and ``responses={401: ..., 404: ...}``
    (a shared ``errors(...)`` helper keeps them consistent).
    """
    doc = await ctx.openapi()
    if not doc.operations:
        raise Skip("the OpenAPI document has no operations")
    findings: list[Finding] = []
    for op in doc.operations:
        loc = f"{op.method} {op.path}"
        raw = ((doc.spec.get("paths") or {}).get(op.path) or {}).get(op.method.lower()) or {}
        summary = str(raw.get("summary") or "").strip()
        described = bool(str(raw.get("description") or "").strip())
        generated = bool(summary) and op.operation_id.lower().startswith(
            summary.lower().replace(" ", "_")
        )
        if not described and (not summary or generated):
            why = "only the summary FastAPI derives from the function name" if generated else ""
            findings.append(
                failed(f"operation has no summary or description {why}".strip(), location=loc)
            )
        errors = [c for c in op.responses if str(c)[:1] in ("4", "5") and str(c) != "422"]
        if not errors:
            findings.append(warned("operation documents no error response", location=loc))
    if not findings:
        findings.append(
            passed(
                f"{len(doc.operations)} operations, each with a summary and "
                "documented error responses",
                location=doc.source,
            )
        )
    return findings


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    pattern: str  # heading pattern
    file_pattern: str  # file-name pattern
    checklist: tuple[str, ...]
    severity: Severity
    doc: str


TOPICS = (
    Topic(
        "RDY-062",
        "Configuration guide available",
        r"configuration|environment variables|settings|\benv\b",
        r"^(configuration|config|settings|environment)( guide)?$",
        ("6.1.3",),
        Severity.LOW,
        "a configuration guide: every environment variable, its meaning and default",
    ),
    Topic(
        "RDY-063",
        "Troubleshooting guide available",
        r"troubleshoot|common (problems|issues|errors)|known issues|\bfaq\b",
        r"troubleshoot|faq",
        ("6.1.4",),
        Severity.LOW,
        "a troubleshooting guide: symptoms, causes and fixes of common problems",
    ),
    Topic(
        "RDY-064",
        "Architecture documented",
        r"architecture|system design|components|design overview",
        r"^(architecture|design|adr|decisions)",
        ("6.2.1",),
        Severity.LOW,
        "architecture notes: components, data flow, external services, decisions (ADRs)",
    ),
    Topic(
        "RDY-065",
        "Contributing guide available",
        r"contribut|development workflow|pull requests?|code style",
        r"^contributing",
        ("6.2.3",),
        Severity.LOW,
        "a contributing guide: workflow, branch and review rules, how to run tests and linters",
    ),
    Topic(
        "RDY-066",
        "Operations runbook available",
        r"runbook|operations|playbook|on-?call|operating",
        r"runbook|playbook|operations",
        ("6.3.2",),
        Severity.MEDIUM,
        "a runbook: how to start, stop, scale, rotate secrets, read logs and health endpoints",
    ),
    Topic(
        "RDY-067",
        "Incident response plan defined",
        r"incident|escalation|post-?mortem|severity levels|on-?call",
        r"incident|postmortem|on ?call",
        ("6.3.3", "10.3.4"),
        Severity.MEDIUM,
        "an incident response plan: severity levels, who is paged, communication, post-mortems",
    ),
    Topic(
        "RDY-068",
        "Backup and recovery procedure documented",
        r"backup|restore|recovery",
        r"backup|restore|recovery",
        ("6.3.4", "3.2.5"),
        Severity.MEDIUM,
        "a backup and recovery procedure: what is backed up, how often, how to restore",
    ),
    Topic(
        "RDY-069",
        "Deployment procedure documented",
        r"deploy|release process|rollout|going live|production setup",
        r"deploy|release",
        ("6.3.1",),
        Severity.MEDIUM,
        "a deployment procedure: build, migrate, release, verify, roll back",
    ),
    Topic(
        "RDY-070",
        "Deployment checklist ready",
        r"(deploy|launch|release|go-?live|pre-?flight).*checklist|checklist.*(deploy|launch|"
        r"release)",
        r"(deploy|launch|release|go live).*checklist|checklist",
        ("10.2.1",),
        Severity.LOW,
        "a deployment (launch) checklist with items to tick before each release",
    ),
    Topic(
        "RDY-071",
        "Data retention and privacy documented",
        r"data retention|retention polic|privacy|gdpr|personal data|data protection",
        r"privacy|retention|gdpr|data protection",
        ("8.3.3",),
        Severity.LOW,
        "a data retention/privacy note: personal data stored, retention periods, deletion",
    ),
)


def _topic_check(topic: Topic) -> Callable[[Context], list[Finding]]:
    def run(ctx: Context) -> list[Finding]:
        hits = find_doc_topic(ctx, topic.pattern, topic.file_pattern)
        if not hits:
            n = len(docs(ctx).files)
            return [
                failed(
                    f"no {topic.title.lower().split(' (')[0]}: no document or heading "
                    f"matches among {n} documentation file(s)"
                )
            ]
        return [
            passed(
                f"{topic.title}: " + "; ".join(h.what + f" ({h.location})" for h in hits[:4]),
                location=hits[0].location,
            )
        ]

    run.__name__ = f"doc_{topic.id.replace('-', '_').lower()}"
    run.__doc__ = (
        f"The repository documents {topic.doc}; found by file name or by a heading in any "
        f"markdown/rst/txt/adoc file (heading pattern ``{topic.pattern}``).\n\n"
        "Operational documents written before launch are what the on-call person reads at "
        "3 a.m.; the audit only verifies that the document exists, not that it is correct.\n\n"
        f"Remediation: write {topic.doc} in ``docs/`` (or a README section) and keep it next to "
        "the code."
    )
    return run


for _t in TOPICS:
    check(_t.id, _t.title, severity=_t.severity, needs=("repo",), checklist=_t.checklist)(
        _topic_check(_t)
    )


@check(
    "RDY-072",
    "Public code is documented (docstring coverage)",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("6.2.4",),
)
def docstrings(ctx: Context) -> list[Finding]:
    """The share of public modules, classes and functions of the backend with a docstring is at
    least ``readiness.min_docstring_percent`` (default 40%). Private names (``_x``), tests and
    migrations are not counted.

    Comments cannot be judged by a machine, but a codebase where no public function says what
    it is for is hard to hand over.

    Remediation: add one-line docstrings to modules, public classes and non-trivial functions
    (``ruff`` rule set ``D`` can enforce it).
    """
    total = 0
    documented = 0
    worst: list[tuple[str, int, int]] = []
    for mod in backend_modules(ctx):
        t = d = 0
        nodes: list[ast.AST] = [mod.tree]
        nodes += [
            n
            for n in ast.walk(mod.tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and not n.name.startswith("_")
        ]
        for n in nodes:
            if isinstance(n, ast.Module) and not n.body:
                continue
            t += 1
            if ast.get_docstring(n):  # type: ignore[arg-type]
                d += 1
        total += t
        documented += d
        if t:
            worst.append((mod.rel, d, t))
    if total == 0:
        raise Skip("no Python code to measure")
    share = 100.0 * documented / total
    limit = ctx.cfg.readiness.min_docstring_percent
    ctx.export("readiness.docstring_percent", round(share, 1))
    worst.sort(key=lambda w: (w[1] / w[2], -w[2]))
    detail = ", ".join(f"{r} {d}/{t}" for r, d, t in worst[:5])
    msg = f"{documented} of {total} public modules/classes/functions documented ({share:.0f}%)"
    if share < limit:
        return [warned(f"{msg}, below {limit:.0f}%; least documented: {detail}")]
    return [passed(f"{msg} (threshold {limit:.0f}%)")]
