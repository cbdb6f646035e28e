"""RDY-060–079: the target's documentation — README sections, API documentation completeness,
and one check per operational document (found by file name or heading)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

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
from prodaudit.checks.readiness._backend import backend_modules
from prodaudit.checks.readiness._docs import (
    Actionable,
    Section,
    actionable,
    judge_document,
    restores,
    says_what_to_do,
    split_sections,
)
from prodaudit.checks.readiness._scan import data_store_hints, docs

_README_SECTIONS = {
    "setup": r"setup|set up|install|getting started|quick ?start|prerequisites|requirements|"
             r"local development|development environment|bootstrap|develop(ing)? locally",
    "run": r"\brun|usage|development|local|start(ing)?\b|how to use|getting started|quick ?start",
    "deploy": r"deploy|production|release|hosting|docker",
}
_DEPLOY_WORDS = re.compile(r"\b(production|deploy\w*|release|hosting|cloud)\b", re.I)
#: the setup steps a "Development" or "Usage" section gives under its own heading: install,
#: clone, create the env file, build the images
_SETUP_STEPS = re.compile(
    r"\b(?:pip3?|uv|poetry|pipenv|npm|pnpm|yarn|bundle|composer|make) +(?:install|sync|ci)\b|"
    r"\bgit clone\b|\bcp +\S*\.?env\S*|\b(?:rename|copy)\b[^\n]{0,40}\.env|"
    r"\bdocker[ -]compose\b[^\n]*(?:\bbuild\b|--build)|\bdocker build\b", re.I)


@check(
    "RDY-060",
    "README explains setup, running and deployment",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("6.1.1", "6.2.2"),
    evidence=Evidence.PARSED,
)
def readme(ctx: Context) -> list[Finding]:
    """The repository root has a README with sections (headings) for setup/installation,
    running/usage and deployment, each saying what to do (commands or steps). Without a setup
    heading, a running section ("Development", "Usage") whose steps install, clone, create the
    env file or build the images is the setup section. A heading that only names Docker
    ("Docker", "Docker Container", "Running with docker-compose") is the deployment section when
    its text speaks of production, deployment, a release, hosting or a cloud; otherwise it is
    how to run the container locally. Sections without
    commands or steps make the pass *present, not verified*; a heading without text under it is a
    WARN (a placeholder).

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
    secs = split_sections(rel, docs(ctx).texts.get(rel, ""))
    found = {
        name: [s for s in secs if re.search(rx, s.title, re.I)]
        for name, rx in _README_SECTIONS.items()
    }
    if not found["setup"]:  # "Development: 1. Rename .env.dev-sample ... docker-compose up --build"
        found["setup"] = [s for s in found["run"] if _SETUP_STEPS.search(s.body)]
    # a "Docker" heading is how to run the container; it deploys when it says production
    found["deploy"] = [s for s in found["deploy"] if not re.fullmatch(
        r"[\W_]*(running |run |using |with )?(the )?docker([ -]?compose)?( container| image)?"
        r"[\W_]*", s.title, re.I) or _DEPLOY_WORDS.search(s.body)]
    missing = [name for name, hits in found.items() if not hits]
    if missing:
        return [
            failed(
                f"{rel} has no {', '.join(missing)} section ({len(secs)} headings: "
                f"{', '.join(s.title for s in secs[:8])})",
                location=rel,
            )
        ]
    best = {
        name: next(((s, a) for s in hits if (a := actionable(s.body)).any),
                   (hits[0], actionable(hits[0].body)))
        for name, hits in found.items()
    }
    described = ", ".join(f"{n} → '{s.title}' (line {s.line}): {a.summary()}"
                          for n, (s, a) in best.items())
    empty = [n for n, (_, a) in best.items() if not a.any]
    hollow = [n for n in empty if all(s.placeholder for s in found[n])]
    if hollow:
        return [
            warned(
                f"{rel}: only placeholder sections — {', '.join(hollow)} has a heading without "
                f"text; {described}",
                location=rel,
            )
        ]
    if empty:
        return [
            passed(
                f"{rel}: sections present, not verified — {', '.join(empty)} gives no commands "
                f"or steps; {described}",
                location=rel,
                level=Evidence.PRESENT,
            )
        ]
    return [passed(f"{rel}: {described}", location=rel)]


@check(
    "RDY-061",
    "API documentation is complete (summaries and error responses)",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("6.1.2",),
    evidence=Evidence.OBSERVED,
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


_ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b")
_ENTRY = re.compile(r"^\s{0,3}([-*+]\s+\S|\d{1,2}[.)]\s+\S|\*\*[^*]+\*\*|#{2,6}\s+\S|\|)", re.M)


def _names_variables(s: Section, a: Actionable) -> bool:
    """A configuration guide names the variables it explains (three or more)."""
    return len(set(_ENV_NAME.findall(s.body))) >= 3


def _has_entries(s: Section, a: Actionable) -> bool:
    """A troubleshooting guide lists problems (two or more entries) or says what to run."""
    return bool(a.commands) or len(_ENTRY.findall(s.body)) >= 2


def _is_checklist(s: Section, a: Actionable) -> bool:
    """A deployment checklist has items to tick (three or more checkbox or numbered items)."""
    return len(a.steps) >= 3


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    pattern: str  # heading pattern (re.search on the heading text without decoration)
    file_pattern: str  # file-name pattern (re.search on the file name without extension)
    checklist: tuple[str, ...]
    severity: Severity
    doc: str
    # what content makes the document verified (None: a machine cannot judge it; found = present)
    accept: Callable[[Section, Actionable], bool] | None = None
    lacks: str = "no commands, steps, owners or contacts"
    images: bool = False  # a diagram whose alt text matches the pattern also counts (present)
    needs_data: bool = False  # judged only when the product keeps data (data_store_hints)

    @property
    def evidence(self) -> Evidence:
        return Evidence.PARSED if self.accept is not None else Evidence.PRESENT


TOPICS = (
    Topic(
        "RDY-062",
        "Configuration guide available",
        r"^(configuration|configuring|settings|environment( variables)?|env vars?)\b|"
        r"\benvironment variables\b|\bconfiguration (guide|reference|options)\b",
        r"^(configuration|config|settings|environment)( guide| reference)?$",
        ("6.1.3",),
        Severity.LOW,
        "a configuration guide: every environment variable, its meaning and default",
        _names_variables,
        "it names fewer than three environment variables",
    ),
    Topic(
        "RDY-063",
        "Troubleshooting guide available",
        r"troubleshoot|common (problems|issues|errors)|known issues|\bfaq\b",
        r"troubleshoot|faq",
        ("6.1.4",),
        Severity.LOW,
        "a troubleshooting guide: symptoms, causes and fixes of common problems",
        _has_entries,
        "it lists no problems and no commands",
    ),
    Topic(
        "RDY-064",
        "Architecture documented",
        r"architecture|system design|^components$|design overview",
        r"^(architecture|design|adr|decisions)",
        ("6.2.1",),
        Severity.LOW,
        "architecture notes: components, data flow, external services, decisions (ADRs)",
        images=True,
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
        r"\brun ?books?\b|\bplaybooks?\b|\bon-?call\b|^(operations|operating|ops)"
        r"( guide| manual| handbook)?$|\boperations (guide|manual|handbook)\b|"
        r"operating (the service|in production)",
        r"run ?book|playbook|^(operations|ops)( guide| manual)?$",
        ("6.3.2",),
        Severity.MEDIUM,
        "a runbook: how to start, stop, scale, rotate secrets, read logs and health endpoints",
        says_what_to_do,
    ),
    Topic(
        "RDY-067",
        "Incident response plan defined",
        r"\bincidents?\b|escalation|post-?mortem|severity levels|\bon-?call\b",
        r"incident|postmortem|on ?call",
        ("6.3.3", "10.3.4"),
        Severity.MEDIUM,
        "an incident response plan: severity levels, who is paged, communication, post-mortems",
        says_what_to_do,
    ),
    Topic(
        "RDY-068",
        "Backup and recovery procedure documented",
        r"\bbackups?\b|\brestor(e|ing)\b|\brecovery\b",
        r"backup|restore|recovery",
        ("6.3.4", "3.2.5"),
        Severity.MEDIUM,
        "a backup and recovery procedure: what is backed up, how often, how to restore",
        restores,
        "no restore command or step",
        needs_data=True,
    ),
    Topic(
        "RDY-069",
        "Deployment procedure documented",
        r"\bdeploy(ment|ing)?\b|release process|rollout|going live|production setup|"
        r"^(running |run )?(in )?production( build| mode| environment| usage)?$",
        r"deploy|release",
        ("6.3.1",),
        Severity.MEDIUM,
        "a deployment procedure: build, migrate, release, verify, roll back",
        says_what_to_do,
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
        _is_checklist,
        "fewer than three items to tick",
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


def judge_doc(ctx: Context, topic: Topic) -> list[Finding]:
    what = re.sub(r" (available|documented|defined|ready)$", "", topic.title.lower())
    return judge_document(ctx, what, topic.pattern, topic.file_pattern, accept=topic.accept,
                          lacks=topic.lacks, images=topic.images)


def _topic_check(topic: Topic) -> Callable[[Context], list[Finding]]:
    def run(ctx: Context) -> list[Finding]:
        if topic.needs_data and not data_store_hints(ctx):
            raise Skip("the product keeps no data of its own (no database, cache or storage is "
                       "named in its code, dependencies, compose or infrastructure files)")
        return judge_doc(ctx, topic)

    judged = (
        "a matching section must have the content (otherwise the pass is *present, not verified*)"
        if topic.accept is not None
        else "a machine cannot judge its content: the pass says the document is *present* and "
        "the checklist keeps the item's manual how-to"
    )
    run.__name__ = f"doc_{topic.id.replace('-', '_').lower()}"
    run.__doc__ = (
        f"The repository documents {topic.doc}; found by file name or by a heading in any "
        f"markdown/rst/txt/adoc file (heading pattern ``{topic.pattern}``); {judged}. A "
        "placeholder (headings with fewer than three words of text under them) is a WARN.\n\n"
        "Operational documents written before launch are what the on-call person reads at "
        "3 a.m.: a heading without commands, steps or contacts does not help them.\n\n"
        + ("A product that keeps no data of its own (no database, cache or storage named in "
           "its code, dependencies, compose or infrastructure files) has nothing to back up: "
           "SKIP.\n\n" if topic.needs_data else "")
        + f"Remediation: write {topic.doc} in ``docs/`` (or a README section) and keep it next "
        "to the code."
    )
    return run


for _t in TOPICS:
    check(_t.id, _t.title, severity=_t.severity, needs=("repo",), checklist=_t.checklist,
          evidence=_t.evidence)(_topic_check(_t))


@check(
    "RDY-072",
    "Public code is documented (docstring coverage)",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("6.2.4",),
    evidence=Evidence.PARSED,
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
