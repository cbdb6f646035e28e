"""Operational documents judged by their content (issue 18): a runbook, an incident plan, a backup
or failover procedure counts only when it says what to do — commands, numbered steps, owners or
contacts. A section with prose that says none of that is *present*: the PASS says so (evidence
level ``present``) and the checklist shows the item's manual how-to. A placeholder — headings (or
a file) with no text under them — is a WARN: it promises a document that is not there. Shared by
the readiness checks of documentation, continuity and launch. Not a check module."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from prodaudit.checks.api import Context, Evidence, Finding, failed, passed, warned
from prodaudit.checks.readiness._scan import docs

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
#: decoration around heading text: emphasis, code, links, emoji and other symbols
_DECOR = re.compile(r"[*_`]|\[([^\]]*)\]\([^)]*\)|[^\w\s/&().,:'+-]")


@dataclass(frozen=True)
class Section:
    """A heading and the text under it, up to the next heading of the same or a higher level
    (a whole document when it is matched by its file name)."""

    path: str
    line: int
    title: str
    level: int
    body: str
    diagram: bool = False  # an image whose alt text matched (it has no body of its own)

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def placeholder(self) -> bool:
        """Headings without text: fewer than ``MIN_WORDS`` words under the heading (sub-headings,
        rules, comments and bare numbers such as "99.9%" do not count). A diagram is content."""
        return not self.diagram and len(prose_words(self.body)) < MIN_WORDS


#: words of text a section needs to be more than a placeholder
MIN_WORDS = 3
_WORD = re.compile(r"[^\W\d_]{2,}")
_RULE = re.compile(r"^\s*([-*_=~])(\s*\1){2,}\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)


def prose_words(body: str) -> list[str]:
    """The words of a section body outside headings, underlines, rules and HTML comments."""
    words: list[str] = []
    for line in _COMMENT.sub(" ", body).splitlines():
        if _MD_HEADING.match(line) or _UNDERLINE.match(line) or _RULE.match(line):
            continue
        words += _WORD.findall(line)
    return words


def clean_title(text: str) -> str:
    """Heading text without emphasis, code marks, link targets, emoji: ``🔧 **Runbook**`` →
    ``Runbook``."""
    return " ".join(_DECOR.sub(lambda m: m.group(1) or " ", text).split())


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(index, level, title) of every heading outside fenced code."""
    out: list[tuple[int, int, str]] = []
    underline_levels: list[str] = []
    in_fence = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        m = _MD_HEADING.match(line)
        if m:
            out.append((i, len(m.group(1)), clean_title(m.group(2))))
        elif i > 0 and _UNDERLINE.match(line) and lines[i - 1].strip() and not _FENCE.match(
            lines[i - 1]
        ) and len(line.strip()) >= len(lines[i - 1].strip()):
            char = line.strip()[0]
            if char not in underline_levels:
                underline_levels.append(char)
            out.append((i - 1, underline_levels.index(char) + 1, clean_title(lines[i - 1])))
    return out


def split_sections(path: str, text: str) -> list[Section]:
    """Every heading of a document with its body."""
    lines = text.splitlines()
    heads = _headings(lines)
    out: list[Section] = []
    for n, (idx, level, title) in enumerate(heads):
        end = next((j for j, lv, _ in heads[n + 1 :] if lv <= level), len(lines))
        body_start = idx + 2 if idx + 1 < len(lines) and _UNDERLINE.match(lines[idx + 1]) else idx + 1
        out.append(Section(path, idx + 1, title, level, "\n".join(lines[body_start:end])))
    return out


def sections(ctx: Context) -> list[Section]:
    """Sections of every documentation file of the repository (built once per run)."""

    def build() -> list[Section]:
        d = docs(ctx)
        return [s for rel in d.files for s in split_sections(rel, d.texts[rel])]

    return ctx.memo("rdy:doc-sections", build)


def _stem(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("_", " ").replace("-", " ")


_IMAGE = re.compile(r"!\[([^\]]+)\]\(|<img\b[^>]*\balt=[\"']([^\"']+)")


def find_sections(ctx: Context, heading: str, file: str | None = None,
                  images: bool = False) -> list[Section]:
    """Whole documents whose file name matches ``file`` and sections whose (cleaned) heading
    matches ``heading`` (case-insensitive ``re.search``); documents first. With ``images``, a
    diagram whose alt text matches ``heading`` counts too (a section without body)."""
    d = docs(ctx)
    hrx = re.compile(heading, re.I)
    frx = re.compile(file, re.I) if file else None
    whole = [
        Section(rel, 1, f"file {rel}", 0, d.texts[rel])
        for rel in d.files
        if frx is not None and frx.search(_stem(rel))
    ]
    matched = {s.path for s in whole}
    found = whole + [s for s in sections(ctx) if s.path not in matched and hrx.search(s.title)]
    if images:
        for rel in d.files:
            text = d.texts[rel]
            for m in _IMAGE.finditer(text):
                alt = m.group(1) or m.group(2) or ""
                if rel not in matched and hrx.search(alt):
                    found.append(Section(rel, text.count("\n", 0, m.start()) + 1,
                                         f"diagram '{alt[:60]}'", 0, "", diagram=True))
    return found


# ---- what makes a section actionable ----------------------------------------------------------

_CMD_WORDS = (
    r"docker(-compose)?|kubectl|helm|psql|pg_dump|pg_dumpall|pg_restore|pg_basebackup|"
    r"mysqldump|mongodump|mongorestore|redis-cli|systemctl|journalctl|service|alembic|"
    r"python3?|pip|uv|poetry|uvicorn|gunicorn|flask|django-admin|manage\.py|celery|npm|npx|"
    r"yarn|pnpm|make|invoke|nox|tox|git|curl|wget|ssh|scp|rsync|aws|gcloud|az|terraform|"
    r"ansible(-playbook)?|sudo|tar|gzip|gunzip|cp|mv|ls|cat|tail|grep|kill|crontab|heroku|fly|"
    r"restic|borg|barman|wal-g|pgbackrest"
)
_CMD_LINE = re.compile(rf"^\s*(\$|#|>)?\s*({_CMD_WORDS})(\s|$)")
_INLINE_CMD = re.compile(rf"`\s*(\$\s*)?({_CMD_WORDS})\s[^`]+`")
_STEP = re.compile(r"^\s{0,3}(\d{1,2}[.)]|[-*+]\s+\[[ xX]\]|step\s+\d+\b)", re.I)
_CONTACT = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.]+|(?<![\w/])@[A-Za-z][\w-]{1,38}\b|(?<![\w&])#[a-z][\w-]{2,}\b|"
    r"\+?\d[\d ()-]{7,}\d|\b(owner|contact|on-?call|escalat\w*|pager ?duty|opsgenie|"
    r"responsible|assignee|incident (lead|commander))\b\s*[:|=-]\s*\S",
    re.I,
)


@dataclass(frozen=True)
class Actionable:
    """What a section gives the person who follows it."""

    commands: list[str]
    steps: list[str]
    contacts: list[str]

    @property
    def any(self) -> bool:
        return bool(self.commands or len(self.steps) >= 2 or self.contacts)

    def summary(self) -> str:
        parts = []
        if self.commands:
            parts.append(f"{len(self.commands)} command(s), e.g. `{self.commands[0][:60]}`")
        if len(self.steps) >= 2:
            parts.append(f"{len(self.steps)} steps")
        if self.contacts:
            parts.append(f"{len(self.contacts)} owner/contact line(s)")
        return ", ".join(parts) or "no commands, steps, owners or contacts"


def actionable(body: str) -> Actionable:
    """Commands (in code blocks, shell-prompt lines or inline code), numbered or checkbox steps,
    and owner/contact lines (an e-mail address, a handle, a channel, a phone number, or
    ``Owner: …``) of a section body."""
    commands: list[str] = []
    steps: list[str] = []
    contacts: list[str] = []
    in_fence = False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        text = line.strip()
        if in_fence:
            if text and not text.startswith("#") or _CMD_LINE.match(text):
                commands.append(text.lstrip("$ ").strip())
            continue
        if line.startswith(("    ", "\t")) and _CMD_LINE.match(text):
            commands.append(text.lstrip("$ "))
        elif text.startswith("$ ") and len(text) > 3:
            commands.append(text[2:])
        commands += [m.group(0).strip("` $") for m in _INLINE_CMD.finditer(line)]
        if _STEP.match(line):
            steps.append(text)
        if _CONTACT.search(line) and not _MD_HEADING.match(line):
            contacts.append(text)
    return Actionable(commands, steps, contacts)


Accept = Callable[[Section, Actionable], bool]


def says_what_to_do(s: Section, a: Actionable) -> bool:
    """The default acceptance: the section has commands, two or more steps, or a contact."""
    return a.any


_RESTORE = re.compile(r"restor|recover|pg_restore|mongorestore|psql\b[^\n]*<|import\b", re.I)


def restores(s: Section, a: Actionable) -> bool:
    """A backup document that also says how to restore (a command or a step about it)."""
    return a.any and any(_RESTORE.search(x) for x in a.commands + a.steps)


def judge_document(
    ctx: Context,
    what: str,
    heading: str,
    file: str | None = None,
    *,
    accept: Accept | None = says_what_to_do,
    lacks: str = "no commands, steps, owners or contacts",
    images: bool = False,
) -> list[Finding]:
    """FAIL when no document or heading matches ``heading``/``file``. With ``accept`` (a topic a
    machine can judge), a PASS on the check's evidence when a matching section is accepted. A WARN
    when every match is a placeholder (headings without text). Else a PASS on presence only
    (level ``present``) that says what is missing; without ``accept`` (a machine cannot judge the
    content), a PASS that names what is present."""
    found = find_sections(ctx, heading, file, images)
    if not found:
        return [
            failed(
                f"no {what}: no document or heading matches among "
                f"{len(docs(ctx).files)} documentation file(s)"
            )
        ]
    judged = [(s, actionable(s.body)) for s in found]
    names = "; ".join(f"{s.title!r} ({s.location})" for s, _ in judged[:4])
    good = [(s, a) for s, a in judged if accept is not None and accept(s, a)]
    if not good and all(s.placeholder for s in found):
        return [warned(f"{what}: only a placeholder — heading(s) without text: {names}",
                       location=found[0].location)]
    if accept is None:
        return [passed(f"{what} present (a person judges its content): {names}",
                       location=found[0].location)]
    if good:
        s, a = good[0]
        return [passed(f"{what}: {s.title!r} ({s.location}) gives {a.summary()}",
                       location=s.location)]
    return [
        passed(
            f"{what} present, not verified — {lacks}: {names}",
            location=found[0].location,
            level=Evidence.PRESENT,
        )
    ]
