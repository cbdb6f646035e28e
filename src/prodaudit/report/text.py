"""Inline text of checks (messages, remediation, docstrings) for each output medium.

Check docstrings and remediation texts mark code the reStructuredText way (````code````); findings
may use Markdown backticks. Every renderer shows both as code: Markdown gets a proper code span,
HTML a ``<code>`` element, plain text (console, SARIF, JUnit) single backticks. Text outside code
is escaped for the medium, so HTML in a finding is shown, never interpreted.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# ``code`` (reStructuredText inline literal) or `code` / ``code`` (Markdown code span)
_CODE = re.compile(r"(?P<ticks>`{1,2})(?P<code>[^`\n]+?)(?P=ticks)(?!`)")


def split_code(text: object) -> list[tuple[bool, str]]:
    """``[(is_code, part), ...]`` for ``text``; code parts without their backticks."""
    s = "" if text is None else str(text)
    out: list[tuple[bool, str]] = []
    pos = 0
    for m in _CODE.finditer(s):
        if m.start() > pos:
            out.append((False, s[pos : m.start()]))
        out.append((True, m.group("code")))
        pos = m.end()
    if pos < len(s):
        out.append((False, s[pos:]))
    return out


def _md_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_code(code: str) -> str:
    """A Markdown code span for ``code`` (backticks inside are fenced with more backticks)."""
    ticks = "`"
    while ticks in code:
        ticks += "`"
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{ticks}{pad}{code}{pad}{ticks}"


def md_inline(text: object) -> str:
    """Markdown inline text: code spans as code, raw HTML elsewhere shown as text."""
    return "".join(md_code(part) if code else _md_escape(part) for code, part in split_code(text))


def md_cell(text: object) -> str:
    """``md_inline`` for a table cell: pipes escaped, one line."""
    out = []
    for code, part in split_code(str(text or "").replace("\n", " ")):
        out.append(md_code(part).replace("|", "\\|") if code else _md_escape(part).replace("|", "\\|"))
    return "".join(out)


def html_inline(text: object) -> Markup:
    """HTML inline text: escaped, code spans as ``<code>``."""
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if code else escape(part) for code, part in split_code(text)
    )


def plain(text: object) -> str:
    """Plain text (console, SARIF message, JUnit): RST literals become single backticks."""
    return "".join(f"`{part}`" if code else part for code, part in split_code(text))


def rst_to_md(doc: str) -> str:
    """A check docstring as Markdown: RST literals become code spans (the rest is Markdown already)."""
    lines = []
    for line in (doc or "").splitlines():
        lines.append("".join(md_code(p) if c else p for c, p in split_code(line)))
    return "\n".join(lines)
