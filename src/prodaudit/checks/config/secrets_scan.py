"""CFG-040–049: credentials in tracked files and in the built frontend, committed env files.

One scan of the shared file index (``.gitignore`` respected in git repositories; built assets
under ``dist/``, ``build/``, ``static/``, ``public/`` always included): an RE2 candidate finder
(or ripgrep) and the Python rules as the judge (``_scan_rules``, ``_scan_judge``,
``_scan_engine``), per-file results cached by content hash (``prodaudit.cache``). A line with
the allow comment (``secrets.allow_comment``, default ``prodaudit: allow``) is accepted; so is a
finding listed in the baseline file (``secrets.baseline``, JSON, see docs/config.md).
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass

from prodaudit.cache import Cache
from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    InputError,
    Severity,
    Skip,
    check,
    errored,
    failed,
    load_json,
    passed,
    read_document,
    warned,
)
from prodaudit.checks.config._scan_engine import BINARY_SUFFIXES, scan_tree
from prodaudit.checks.config._scan_judge import Hit, scan_text
from prodaudit.checks.config._scan_rules import RULES, Rule, rules_version
from prodaudit.checks.config._sqlite_files import committed_databases
from prodaudit.product.envfiles import env_files
from prodaudit.product.secretvalues import is_secret_var, placeholder_reason
from prodaudit.product.vendored import library_source_map

__all__ = ["BINARY_SUFFIXES", "RULES", "Hit", "Rule", "ScanResult", "scan", "scan_text"]

BUILD_DIR_NAMES = frozenset({"dist", "build", "static", "public", ".next", "out"})
ASSET_SUFFIXES = (".js", ".mjs", ".cjs", ".css", ".html", ".htm", ".map", ".json", ".txt",
                  ".svg", ".xml", ".webmanifest")


@dataclass
class ScanResult:
    hits: list[Hit]
    scanned: int
    skipped_binary: int
    skipped_large: int
    unreadable: int
    allowed: int
    baselined: int
    seconds: float
    from_cache: int = 0
    engine: str = "python"


def _is_built_asset(rel: str) -> bool:
    parts = rel.split("/")
    return bool(set(parts[:-1]) & BUILD_DIR_NAMES) and rel.lower().endswith(ASSET_SUFFIXES)


def _baseline(ctx: Context) -> set[tuple[str, str]]:
    path = ctx.cfg.secrets.baseline
    if path is None:
        return set()
    p = path if path.is_absolute() else ctx.repo / path
    data = load_json(read_document(p), str(p))
    items = data.get("findings", data) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError(str(p), 'a secrets baseline is a list of findings or {"findings": [...]}')
    return {(str(i.get("path", "")), str(i.get("fingerprint", ""))) for i in items
            if isinstance(i, dict)}


def scan_cache(ctx: Context) -> Cache | None:
    """The run's static-fact cache (None with ``--no-cache`` or when unusable)."""
    return ctx.cache()


def scan(ctx: Context) -> ScanResult:
    """Scan every indexed file once per audit (both CFG-040 and CFG-041 use it)."""

    def build() -> ScanResult:
        t0 = time.monotonic()
        baseline = _baseline(ctx)
        cache = scan_cache(ctx)
        tree = scan_tree(ctx.repo, ctx.files.files, allow=ctx.cfg.secrets.allow_comment,
                         cap=ctx.cfg.secrets.max_file_bytes, cache=cache,
                         engine=ctx.cfg.secrets.engine, stats=ctx.files.stats)
        res = ScanResult([], tree.scanned, tree.skipped_binary, tree.skipped_large,
                         tree.unreadable, 0, 0, 0.0, tree.from_cache, tree.engine)
        for rel in ctx.files.files:
            fr = tree.results.get(rel)
            if fr is None:
                continue
            res.allowed += fr.allowed
            for h in fr.hits:
                if (h.path, h.fingerprint) in baseline:
                    res.baselined += 1
                else:
                    res.hits.append(h)
        res.seconds = time.monotonic() - t0
        for h in res.hits:
            ctx.redact.register(h.secret)
        ctx.export("secret_scan", {
            "engine": tree.engine, "files": len(ctx.files.files), "scanned": res.scanned,
            "from_cache": res.from_cache, "cache": cache.summary() if cache else "disabled",
            "rules_version": rules_version(), "seconds": round(res.seconds, 3),
            "summary": _summary(res, "git-tracked" if ctx.files.git else "tree walk")})
        return res

    return ctx.memo("cfg:secret_scan", build)


def _summary(res: ScanResult, what: str) -> str:
    cached = f", {res.from_cache} from the cache" if res.from_cache else ""
    return (f"{res.scanned} files scanned{cached} in {res.seconds:.2f} s ({what}); skipped: "
            f"{res.skipped_binary} binary, {res.skipped_large} over the size cap, "
            f"{res.unreadable} unreadable; {res.allowed} allowed inline, {res.baselined} in the "
            "baseline")


def _hit_finding(h: Hit, severity: Severity | None = None) -> Finding:
    return failed(f"{h.title} in {h.path}", location=f"{h.path}:{h.line}",
                  evidence=f"{h.excerpt} (baseline fingerprint {h.fingerprint})",
                  rule=h.rule, severity=severity)


@check("CFG-040", "No credentials in tracked files", severity=Severity.CRITICAL, needs=("repo",),
       checklist=("2.1.2", "8.2.1", "10.1.2"), references=("CWE-798", "CWE-540"), evidence=Evidence.PARSED)
def secrets_in_code(ctx: Context) -> list[Finding]:
    """No tracked file (``.gitignore`` respected; every file outside git) contains a credential:
    LLM provider keys (OpenAI, Anthropic, Google, Azure, Cohere, Mistral, Hugging Face, Groq,
    Replicate), AWS keys, GCP service-account keys, GitHub/GitLab/Slack/Stripe/SendGrid tokens,
    private keys, JWTs, passwords in URLs, and high-entropy values assigned to secret-named
    variables (not a password that spells out its role in a documentation page or in a sample
    payload of the API's documentation in code: ``EXAMPLES = {...: {"password":
    "strongpassword123"}}``, ``Field(..., example="testpass1")``). Binaries and files over
    ``secrets.max_file_bytes`` are skipped and counted, except
    SQLite databases: one whose account, session, token or OAuth tables hold rows fails (table
    names are read, never a value).

    A secret in the repository is in every clone, fork, CI cache and backup forever; bots harvest
    public repositories for provider keys within minutes.

    Remediation: revoke and rotate the credential first, then remove it from the code and the
    history (git filter-repo), and read it from the environment; a database: remove it, ignore it
    and create it with migrations and a seed command. Accepted test fixtures: add the allow
    comment on the line or list the finding's fingerprint in the baseline file.
    """
    try:
        res = scan(ctx)
    except (OSError, ValueError, InputError) as exc:
        return [errored(f"secrets.baseline unreadable: {exc}")]
    code_hits = [h for h in res.hits if not _is_built_asset(h.path)]
    out: list[Finding] = [_hit_finding(h) for h in code_hits]
    databases = committed_databases(ctx.files)
    out += [failed(f"{db.path} is a populated SQLite database in the repository: "
                   f"{', '.join(db.populated[:8])} hold rows (accounts, sessions or tokens)",
                   location=db.path, rule="committed-database",
                   evidence="tables with rows: " + ", ".join(db.populated[:20]))
            for db in databases]
    if res.unreadable:
        out.append(errored(f"{res.unreadable} file(s) could not be read: not scanned"))
    if not res.scanned:
        raise Skip("no readable text file in the repository")
    if not code_hits and not databases:
        out.insert(0, passed("no credential found: " + _summary(res, "git-tracked" if
                                                               ctx.files.git else "tree walk")))
    # with hits, the scan's counts are run facts (``secret_scan`` export), not a finding: each
    # hit carries its own baseline fingerprint
    return out


@check("CFG-041", "No credentials in the built frontend", severity=Severity.CRITICAL,
       needs=("repo",), checklist=("2.1.2", "8.2.1"), references=("CWE-200", "CWE-798"),
       evidence=Evidence.PARSED)
def secrets_in_frontend_build(ctx: Context) -> list[Finding]:
    """Built frontend assets (``dist/``, ``build/``, ``static/``, ``public/``, ``.next/``; scanned
    even when git-ignored, because they ship) contain no credential — above all no LLM provider
    key baked in through ``VITE_*``/``REACT_APP_*`` variables — and no source maps with secrets.
    A source map that reveals no application source is not a finding: the map of a vendored
    library (the file it maps starts with a licence banner naming a version, as Bootstrap's
    ``bootstrap.css.map`` next to ``bootstrap.css``) or one whose ``sources`` all lie in a
    library tree (``node_modules/``, ``bower_components/``, webpack's runtime).

    Everything in a JavaScript bundle is public: a provider key in it is found with "view source"
    and billed to you.

    Remediation: never put secrets in ``VITE_``/``REACT_APP_``/``NEXT_PUBLIC_`` variables; call
    the provider from the backend; rotate the exposed key.
    """
    res = scan(ctx)
    assets = [f for f in ctx.files.files if _is_built_asset(f)]
    if not assets:
        raise Skip("no built frontend assets (dist/, build/, static/, public/) in the repository")
    hits = [h for h in res.hits if _is_built_asset(h.path)]
    out: list[Finding] = [_hit_finding(h) for h in hits]
    maps = [a for a in assets if a.endswith(".map") and not library_source_map(ctx, a)]
    if maps:
        out.append(warned(f"{len(maps)} source map(s) ship with the build (they expose the source)",
                          location=maps[0]))
    if not hits:
        out.insert(0, passed(f"{len(assets)} built asset(s) contain no credential"))
    return out


def _gitignore_patterns(ctx: Context) -> list[str]:
    text = ctx.read(".gitignore") if ".gitignore" in ctx.files.files or (
        ctx.repo / ".gitignore").is_file() else None
    if text is None:
        try:
            text = (ctx.repo / ".gitignore").read_text(errors="replace")
        except OSError:
            return []
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def gitignored(rel: str, patterns: list[str]) -> bool:
    """A small ``.gitignore`` matcher (root file only): globs on the name or the path, ``!``."""
    ignored = False
    name = rel.rsplit("/", 1)[-1]
    for pat in patterns:
        neg = pat.startswith("!")
        p = pat[1:] if neg else pat
        p = p.rstrip("/")
        anchored = p.startswith("/")
        p = p.lstrip("/")
        hit = fnmatch.fnmatch(rel, p) or (
            not anchored and "/" not in p and fnmatch.fnmatch(name, p))
        if hit:
            ignored = not neg
    return ignored


@check("CFG-042", "No env files with real values are committed", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.1.2", "2.1.3"), references=("CWE-538", "CWE-798"),
       evidence=Evidence.PARSED)
def committed_env_files(ctx: Context) -> list[Finding]:
    """Env files other than examples (``.env``, ``.env.production``, ``prod.env`` ...) are not in
    the repository with real secret values (placeholders as CFG-020 knows them — ``changeme``,
    ``your-key-here``, ``token``, ``open_api_key`` — are not). In a git repository "in the
    repository" means tracked or not ignored; elsewhere, present and not matched by the root
    ``.gitignore``.

    ``.env`` files are where real credentials live; committed, they leak with every clone.

    Remediation: ``git rm --cached .env``, add ``.env`` and ``.env.*`` (with ``!.env.example``)
    to ``.gitignore``, rotate the values.
    """
    patterns = [] if ctx.files.git else _gitignore_patterns(ctx)
    out: list[Finding] = []
    looked = 0
    for ef in env_files(ctx):
        if ef.kind == "example":
            continue
        looked += 1
        if not ctx.files.git and gitignored(ef.path, patterns):
            continue
        real = [e for e in ef.entries if is_secret_var(e.name) and e.value
                and placeholder_reason(e.value) is None]
        if real:
            for e in real:
                ctx.redact.register(e.value)
            names = ", ".join(e.name for e in real[:10])
            out.append(failed(f"{ef.path} is {'tracked' if ctx.files.git else 'not git-ignored'} "
                              f"and holds {len(real)} real secret value(s): {names}",
                              location=f"{ef.path}:{real[0].line}"))
    if not out:
        out.append(passed(f"{looked} non-example env file(s) found; none is committed with real "
                          "secret values" + ("" if ctx.files.git else " (tree walk, .gitignore "
                                             "applied)")))
    return out

